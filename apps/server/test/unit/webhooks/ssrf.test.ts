// The SSRF table of issue #7: every kind of non-public address is refused, as a literal in the
// URL (including the numeric tricks WHATWG URL normalises) and behind a name (injected
// resolver); public addresses pass; DNS failure refuses; allowPrivateNetworks allows http and
// private addresses for local development and tests.
import { describe, expect, it } from 'vitest';
import { type AddressPolicy, checkWebhookUrl, isPublicAddress, type Lookup, nonPublicReason } from '../../../src/webhooks/ssrf.ts';

// [category, address, expected reason fragment]
const nonPublic: [string, string, RegExp][] = [
  ['IPv4 loopback', '127.0.0.1', /loopback/],
  ['IPv4 loopback, elsewhere in 127/8', '127.255.0.9', /loopback/],
  ['private 10/8', '10.1.2.3', /private/],
  ['private 172.16/12 (low end)', '172.16.0.1', /private/],
  ['private 172.16/12 (high end)', '172.31.255.254', /private/],
  ['private 192.168/16', '192.168.1.1', /private/],
  ['link-local: cloud metadata', '169.254.169.254', /link-local.*metadata/],
  ['CGNAT 100.64/10', '100.64.0.1', /carrier-grade NAT/],
  ['CGNAT 100.64/10 (high end)', '100.127.255.254', /carrier-grade NAT/],
  ['IPv4 unspecified', '0.0.0.0', /unspecified/],
  ['this network 0/8', '0.1.2.3', /unspecified/],
  ['IPv4 multicast', '224.0.0.1', /multicast/],
  ['IPv4 multicast (high end)', '239.255.255.250', /multicast/],
  ['broadcast', '255.255.255.255', /broadcast/],
  ['reserved 240/4', '240.0.0.1', /reserved/],
  ['IETF protocol assignments 192.0.0/24', '192.0.0.8', /IETF/],
  ['documentation TEST-NET-1', '192.0.2.10', /documentation/],
  ['documentation TEST-NET-2', '198.51.100.7', /documentation/],
  ['documentation TEST-NET-3', '203.0.113.99', /documentation/],
  ['benchmarking 198.18/15', '198.19.0.1', /benchmarking/],
  ['6to4 relay anycast', '192.88.99.1', /6to4 relay/],
  ['IPv6 loopback', '::1', /loopback/],
  ['IPv6 unspecified', '::', /unspecified/],
  ['IPv4-mapped IPv6 of loopback', '::ffff:127.0.0.1', /IPv4-mapped/],
  ['IPv4-mapped IPv6, hex form', '::ffff:7f00:1', /IPv4-mapped/],
  ['IPv4-mapped IPv6 of a public address (refused too: never needed)', '::ffff:8.8.8.8', /IPv4-mapped/],
  ['IPv4-compatible IPv6', '::127.0.0.1', /IPv4-compatible/],
  ['NAT64 64:ff9b::/96', '64:ff9b::7f00:1', /NAT64/],
  ['NAT64 64:ff9b::/96 of metadata', '64:ff9b::169.254.169.254', /NAT64/],
  ['NAT64 local-use 64:ff9b:1::/48', '64:ff9b:1::a00:1', /NAT64/],
  ['6to4 embedding loopback', '2002:7f00:1::1', /6to4 address embedding 127\.0\.0\.1, a loopback/],
  ['6to4 embedding private', '2002:c0a8:101::1', /6to4 address embedding 192\.168\.1\.1, a private/],
  ['6to4 embedding metadata', '2002:a9fe:a9fe::', /embedding 169\.254\.169\.254/],
  ['Teredo (its embedded client address cannot be trusted)', '2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
  ['Teredo embedding private', '2001:0:c0a8:101::', /Teredo/],
  ['ULA fc00::/7', 'fd12:3456:789a::1', /unique local/],
  ['ULA fc00::/7 (fc half)', 'fc00::1', /unique local/],
  ['IPv6 link-local', 'fe80::1', /link-local/],
  ['IPv6 link-local with a zone', 'fe80::1%eth0', /link-local/],
  ['IPv6 site-local (deprecated)', 'fec0::1', /site-local/],
  ['IPv6 multicast', 'ff02::1', /multicast/],
  ['IPv6 documentation 2001:db8::/32', '2001:db8::1', /documentation/],
  ['IPv6 documentation 3fff::/20', '3fff:0:1::1', /documentation/],
  ['IPv6 discard-only', '100::1', /discard/],
  ['IPv6 outside global unicast', '4000::1', /global unicast/],
];

const publicAddresses = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '172.15.255.255',
  '172.32.0.1',
  '100.63.255.255',
  '100.128.0.1',
  '192.169.0.1',
  '198.17.255.255',
  '198.20.0.1',
  '223.255.255.254',
  '2606:4700:4700::1111',
  '2a00:1450:4001:82a::200e',
  '2002:808:808::1' /* 6to4 of 8.8.8.8 */,
];

const refusingLookup: Lookup = async () => {
  throw new Error('this test must not resolve names');
};
const strict: AddressPolicy = { allowPrivateNetworks: false, lookup: refusingLookup };

/** A resolver from a fixed table; unknown names fail like getaddrinfo does. */
function table(entries: Record<string, string[]>): Lookup {
  return async (hostname) => {
    const addresses = entries[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

function urlFor(address: string): string {
  return address.includes(':') ? `https://[${address.replace('%', '%25')}]/hooks` : `https://${address}/hooks`;
}

describe('isPublicAddress / nonPublicReason', () => {
  it.each(nonPublic)('%s (%s) is not public', (_category, address, reason) => {
    expect(isPublicAddress(address)).toBe(false);
    expect(nonPublicReason(address)).toMatch(reason);
  });
  it.each(publicAddresses)('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeNull();
    expect(isPublicAddress(address)).toBe(true);
  });
  it.each(['', 'localhost', 'example.com', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '1.2.3.4.5', '[::1]'])(
    'a string that is not a strict IP address (%j) is refused',
    (text) => expect(isPublicAddress(text)).toBe(false),
  );
});

describe('checkWebhookUrl', () => {
  it('accepts https to a public literal address and to a name whose every address is public', async () => {
    expect(await checkWebhookUrl('https://8.8.8.8/hooks', strict)).toEqual({ ok: true });
    expect(await checkWebhookUrl('https://[2606:4700:4700::1111]:8443/x?y=1', strict)).toEqual({ ok: true });
    const lookup = table({ 'hooks.partner.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] });
    expect(await checkWebhookUrl('https://hooks.partner.example/in', { allowPrivateNetworks: false, lookup })).toEqual({ ok: true });
  });

  describe('a literal address in the URL', () => {
    it.each(nonPublic.filter(([, address]) => !address.includes('%')))('%s (%s) is refused', async (_category, address, reason) => {
      const verdict = await checkWebhookUrl(urlFor(address), strict);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toMatch(reason);
    });
  });

  describe('numeric tricks, which WHATWG URL normalises to the address they mean', () => {
    it.each([
      ['decimal', 'http://2130706433/', '127.0.0.1'],
      ['hex', 'https://0x7f000001/', '127.0.0.1'],
      ['octal', 'https://0177.0.0.1/', '127.0.0.1'],
      ['short', 'https://127.1/', '127.0.0.1'],
      ['mixed hex octets', 'https://0xa9.0xfe.0xa9.0xfe/latest/meta-data', '169.254.169.254'],
      ['decimal metadata', 'https://2852039166/', '169.254.169.254'],
      ['octal private', 'https://012.0.0.1/', '10.0.0.1'],
      ['zero', 'https://0/', '0.0.0.0'],
      ['long IPv6 mapped', 'https://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1'],
    ])('%s: %s is refused as %s', async (_name, url, normalised) => {
      expect(new URL(url).hostname.replace(/^\[|\]$/g, '')).toBe(normalised);
      const verdict = await checkWebhookUrl(url.replace(/^http:/, 'https:'), strict);
      expect(verdict).toMatchObject({ ok: false });
      if (!verdict.ok) expect(verdict.reason).toContain(normalised);
    });
  });

  describe('a name: every address it resolves to is checked', () => {
    it.each(nonPublic.filter(([, address]) => !address.includes('%')))(
      'resolving to %s (%s) is refused',
      async (_category, address, reason) => {
        const lookup = table({ 'hooks.partner.example': [address] });
        const verdict = await checkWebhookUrl('https://hooks.partner.example/in', { allowPrivateNetworks: false, lookup });
        expect(verdict).toMatchObject({ ok: false });
        if (!verdict.ok) expect(verdict.reason).toMatch(new RegExp(`hooks\\.partner\\.example resolves to .*${reason.source}`));
      },
    );

    it('refuses when ANY address is not public (one private among public ones)', async () => {
      const lookup = table({ 'mixed.example': ['93.184.215.14', '2606:4700:4700::1111', '10.0.0.7'] });
      expect(await checkWebhookUrl('https://mixed.example/', { allowPrivateNetworks: false, lookup })).toEqual({
        ok: false,
        reason: "the URL's host mixed.example resolves to 10.0.0.7, a private address",
      });
    });

    it('localhost through the real resolver is refused', async () => {
      const verdict = await checkWebhookUrl('https://localhost:3000/hooks', { allowPrivateNetworks: false });
      expect(verdict).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/localhost (resolves to .*loopback|could not be resolved)/),
      });
    });

    it('fails closed: a name that does not resolve, resolves to nothing, or a resolver that hangs', async () => {
      expect(await checkWebhookUrl('https://nowhere.example/', { allowPrivateNetworks: false, lookup: table({}) })).toEqual({
        ok: false,
        reason: "the URL's host nowhere.example could not be resolved (ENOTFOUND)",
      });
      expect(
        await checkWebhookUrl('https://empty.example/', { allowPrivateNetworks: false, lookup: table({ 'empty.example': [] }) }),
      ).toEqual({
        ok: false,
        reason: "the URL's host empty.example could not be resolved (ENODATA)",
      });
      const odd: Lookup = async () => [{ address: 'not-an-address', family: 4 }];
      expect(await checkWebhookUrl('https://odd.example/', { allowPrivateNetworks: false, lookup: odd })).toMatchObject({ ok: false });
    });
  });

  describe('the URL itself', () => {
    it.each([
      ['http', 'http://8.8.8.8/hooks', 'the URL must use https'],
      ['ftp', 'ftp://8.8.8.8/hooks', 'the URL must use https'],
      ['file', 'file:///etc/passwd', 'the URL must use https'],
      ['user and password', 'https://user:pass@8.8.8.8/hooks', 'the URL must not contain a user name or password'],
      ['user only', 'https://user@8.8.8.8/hooks', 'the URL must not contain a user name or password'],
      ['not a URL', 'hooks.partner.example/in', 'the URL is not a valid absolute URL'],
      ['relative', '/hooks', 'the URL is not a valid absolute URL'],
    ])('%s is refused', async (_name, url, reason) => {
      expect(await checkWebhookUrl(url, strict)).toEqual({ ok: false, reason });
    });
  });

  describe('allowPrivateNetworks (local development and tests)', () => {
    const local: AddressPolicy = { allowPrivateNetworks: true, lookup: refusingLookup };
    it('allows http and https to loopback and private addresses and names, without resolving them', async () => {
      for (const url of [
        'http://127.0.0.1:4000/hooks',
        'https://[::1]:4000/',
        'http://10.0.0.5/',
        'http://localhost:3000/',
        'http://receiver.internal/',
      ]) {
        expect(await checkWebhookUrl(url, local), url).toEqual({ ok: true });
      }
    });
    it('still refuses other schemes and credentials', async () => {
      expect(await checkWebhookUrl('ftp://127.0.0.1/', local)).toEqual({ ok: false, reason: 'the URL must use https or http' });
      expect(await checkWebhookUrl('http://a:b@127.0.0.1/', local)).toEqual({
        ok: false,
        reason: 'the URL must not contain a user name or password',
      });
    });
  });
});
