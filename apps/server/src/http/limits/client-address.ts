// The client address that failure limits count by. `req.ip` is the socket's peer, or with
// Express's `trust proxy` (TRUST_PROXY) the address the trusted proxies forwarded.
import ipaddr from 'ipaddr.js'; // Express's own address parser (via proxy-addr)

/**
 * IPv4 as is (IPv4-mapped IPv6 too); IPv6 cut to its /64, the smallest block a subscriber is
 * given and can rotate through freely, so counting single IPv6 addresses would count nothing.
 */
export function clientAddress(ip: string | undefined): string {
  if (ip === undefined || !ipaddr.isValid(ip)) return 'unknown';
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`;
}
