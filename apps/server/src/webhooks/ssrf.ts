// Server-side request forgery guard for webhook URLs. A webhook makes this server send requests
// to a URL a tenant chose; without this, a tenant could make it call the cloud metadata service
// (169.254.169.254), the database, or anything else on our private networks. Checked when an
// endpoint is created or changed (→ 422 with the reason) and again at connect time by send.ts,
// because a name can resolve somewhere else by then.
//
// IPv4 is a blocklist of the IANA special-purpose ranges that are not global unicast. IPv6 is an
// allowlist: only global unicast (2000::/3) is public, minus the special ranges inside it, so
// every other prefix (mapped, NAT64, ULA, link-local, site-local, multicast, …) fails closed.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type Lookup = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;
export type AddressPolicy = { allowPrivateNetworks: boolean; lookup?: Lookup };
export type UrlVerdict = { ok: true } | { ok: false; reason: string };

type V4Range = [ipaddr.IPv4, number];
type V6Range = [ipaddr.IPv6, number];
const v4 = (text: string): V4Range => ipaddr.IPv4.parseCIDR(text);
const v6 = (text: string): V6Range => ipaddr.IPv6.parseCIDR(text);

const IPV4_SPECIAL: [string, V4Range[]][] = [
  ['an unspecified ("this network") address', [v4('0.0.0.0/8')]],
  ['a loopback address', [v4('127.0.0.0/8')]],
  ['a private address', [v4('10.0.0.0/8'), v4('172.16.0.0/12'), v4('192.168.0.0/16')]],
  ['a link-local address (this includes cloud metadata services)', [v4('169.254.0.0/16')]],
  ['a carrier-grade NAT address', [v4('100.64.0.0/10')]],
  ['an IETF protocol assignment address', [v4('192.0.0.0/24')]],
  ['a documentation address', [v4('192.0.2.0/24'), v4('198.51.100.0/24'), v4('203.0.113.0/24')]],
  ['a 6to4 relay anycast address', [v4('192.88.99.0/24')]],
  ['a benchmarking address', [v4('198.18.0.0/15')]],
  ['a multicast address', [v4('224.0.0.0/4')]],
  ['the broadcast address', [v4('255.255.255.255/32')]],
  ['a reserved address', [v4('240.0.0.0/4')]],
];

const IPV6_GLOBAL_UNICAST = v6('2000::/3');
// Named ranges outside 2000::/3 only improve the message; anything outside it is refused anyway.
const IPV6_SPECIAL: [string, V6Range[]][] = [
  ['the unspecified address', [v6('::/128')]],
  ['a loopback address', [v6('::1/128')]],
  ['an IPv4-mapped IPv6 address', [v6('::ffff:0:0/96')]],
  ['an IPv4-translated IPv6 address', [v6('::ffff:0:0:0/96')]],
  ['an IPv4-compatible IPv6 address', [v6('::/96')]],
  ['a NAT64 address', [v6('64:ff9b::/96'), v6('64:ff9b:1::/48')]],
  ['a discard-only address', [v6('100::/64')]],
  ['a unique local (private) address', [v6('fc00::/7')]],
  ['a link-local address', [v6('fe80::/10')]],
  ['a site-local address', [v6('fec0::/10')]],
  ['a multicast address', [v6('ff00::/8')]],
  // Inside 2000::/3:
  ['an IETF protocol assignment address (including Teredo tunnels)', [v6('2001::/23')]],
  ['a documentation address', [v6('2001:db8::/32'), v6('3fff::/20')]],
];
const SIX_TO_FOUR = v6('2002::/16');

/**
 * Why an address is not public, or null when it is public unicast. A string that is not an
 * IP address at all is refused too (fail closed).
 */
export function nonPublicReason(ip: string): string | null {
  // net.isIP is strict (dotted decimal only), so no octal or hex form reaches ipaddr's
  // lenient parser with a meaning other than the one the socket would use.
  const version = isIP(ip);
  if (version === 0) return 'not an IP address';
  if (version === 4) return ipv4Reason(ipaddr.IPv4.parse(ip));
  const six = parseIPv6(ip);
  if (six === null) return 'not an IPv6 address this server can check';
  for (const [reason, ranges] of IPV6_SPECIAL) if (ranges.some((range) => six.match(range))) return reason;
  if (!six.match(IPV6_GLOBAL_UNICAST)) return 'not a global unicast IPv6 address';
  if (six.match(SIX_TO_FOUR)) {
    // 6to4 (2002:AABB:CCDD::/48) tunnels to the IPv4 address AA.BB.CC.DD.
    const [, high = 0, low = 0] = six.parts;
    const embedded = new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
    const inner = ipv4Reason(embedded);
    if (inner !== null) return `a 6to4 address embedding ${embedded.toString()}, ${inner}`;
  }
  return null;
}

// ipaddr.js 1.9 cannot parse an embedded dotted quad except after ::ffff: (e.g. not
// 64:ff9b::169.254.169.254), which Node accepts; the WHATWG URL serializer rewrites it in hex.
// A zone (fe80::1%eth0) is dropped: it says which interface, not which address.
function parseIPv6(ip: string): ipaddr.IPv6 | null {
  try {
    const hex = new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
    return ipaddr.IPv6.parse(hex);
  } catch {
    return null;
  }
}

function ipv4Reason(address: ipaddr.IPv4): string | null {
  for (const [reason, ranges] of IPV4_SPECIAL) if (ranges.some((range) => address.match(range))) return reason;
  return null;
}

export function isPublicAddress(ip: string): boolean {
  return nonPublicReason(ip) === null;
}

export const defaultLookup: Lookup = async (hostname) => {
  const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** getaddrinfo has no timeout of its own; a webhook check should not hang a request on it. */
export const LOOKUP_TIMEOUT_MS = 5000;

/** All addresses of a name, or an Error (never thrown): failure, timeout or no address. */
export async function resolveAll(hostname: string, lookup: Lookup = defaultLookup): Promise<{ address: string; family: 4 | 6 }[] | Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(Object.assign(new Error('DNS lookup timed out'), { code: 'ETIMEOUT' })), LOOKUP_TIMEOUT_MS);
  });
  try {
    const addresses = await Promise.race([lookup(hostname).catch((error: unknown) => toError(error)), timeout]);
    if (addresses instanceof Error) return addresses;
    if (addresses.length === 0) return Object.assign(new Error('no address'), { code: 'ENODATA' });
    return addresses;
  } finally {
    clearTimeout(timer);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The host of a parsed URL as an address or name: brackets of IPv6 literals removed. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The rules for a URL itself (scheme, userinfo), without resolving it; send.ts checks these
 * before every attempt and leaves the addresses to its connect-time lookup.
 */
export function checkUrlShape(url: URL, policy: AddressPolicy): UrlVerdict {
  const schemes = policy.allowPrivateNetworks ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    return refuse(policy.allowPrivateNetworks ? 'the URL must use https or http' : 'the URL must use https');
  }
  // Credentials in a URL end up in logs and in the delivery log; receivers authenticate with
  // the signature instead.
  if (url.username !== '' || url.password !== '') return refuse('the URL must not contain a user name or password');
  if (url.hostname === '') return refuse('the URL has no host');
  return { ok: true };
}

/**
 * Whether webhooks may be sent to this URL: https, no credentials, and every address it
 * resolves to public (all of them: a name with one private address among public ones could be
 * made to connect there). DNS failure refuses (fail closed). With allowPrivateNetworks (local
 * development, tests), http is allowed and addresses are not checked, so nothing is resolved.
 */
export async function checkWebhookUrl(url: string, policy: AddressPolicy): Promise<UrlVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('the URL is not a valid absolute URL');
  }
  const shape = checkUrlShape(parsed, policy);
  if (!shape.ok || policy.allowPrivateNetworks) return shape;
  // WHATWG URL parsing has already turned numeric tricks (2130706433, 0x7f000001, 0177.0.0.1,
  // 127.1) into dotted form, so they are checked as the address they really are.
  const host = urlHost(parsed);
  if (isIP(host) !== 0) {
    const reason = nonPublicReason(host);
    return reason === null ? { ok: true } : refuse(`the URL's host ${host} is ${reason}`);
  }
  const addresses = await resolveAll(host, policy.lookup);
  if (addresses instanceof Error) {
    const code = (addresses as NodeJS.ErrnoException).code;
    return refuse(`the URL's host ${host} could not be resolved${code ? ` (${code})` : ''}`);
  }
  for (const { address } of addresses) {
    const reason = nonPublicReason(address);
    if (reason !== null) return refuse(`the URL's host ${host} resolves to ${address}, ${reason}`);
  }
  return { ok: true };
}

function refuse(reason: string): UrlVerdict {
  return { ok: false, reason };
}
