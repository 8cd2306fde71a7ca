// SSRF at registration: on a server that does not allow private networks (production), a URL
// that is not https or that reaches anything but public unicast addresses is refused with 422
// naming why, on create and on update, and nothing is stored. Names resolve through an injected
// resolver, so "a name that resolves to loopback" needs no DNS; the same resolver changing its
// answer later shows the test send re-checking at connect time.
import { describe, expect, it } from 'vitest';
import type { Lookup } from '../../src/webhooks/ssrf.ts';
import { expectProblem } from '../support/http.ts';
import { createEndpoint, endpointBody, endpointRow, useEndpointWorld } from './endpoint-api.ts';

const PUBLIC = '93.184.215.14';
const names = new Map<string, string>([
  ['partner.example.net', PUBLIC],
  ['loopback.example.net', '127.0.0.1'],
  ['metadata.example.net', '169.254.169.254'],
  ['localhost', '127.0.0.1'],
]);
const lookup: Lookup = async (hostname) => {
  const address = names.get(hostname);
  if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};

const t = useEndpointWorld({ urlPolicy: { allowPrivateNetworks: false, lookup } });

const refused: [string, RegExp][] = [
  ['https://127.0.0.1/hooks', /127\.0\.0\.1 is a loopback address/],
  ['https://localhost/hooks', /localhost resolves to 127\.0\.0\.1, a loopback address/],
  ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local address/],
  ['https://10.1.2.3/hooks', /10\.1\.2\.3 is a private address/],
  ['https://192.168.0.10/hooks', /a private address/],
  ['https://172.16.5.4/hooks', /a private address/],
  ['https://100.64.0.1/hooks', /carrier-grade NAT/],
  ['https://0.0.0.0/hooks', /unspecified/],
  ['https://224.0.0.1/hooks', /multicast/],
  ['https://240.0.0.1/hooks', /reserved/],
  ['https://[::1]/hooks', /::1 is a loopback address/],
  ['https://[::ffff:127.0.0.1]/hooks', /IPv4-mapped/],
  ['https://[64:ff9b::7f00:1]/hooks', /NAT64/],
  ['https://[fd00::1]/hooks', /unique local/],
  ['https://[fe80::1]/hooks', /link-local/],
  ['https://2130706433/hooks', /127\.0\.0\.1 is a loopback address/],
  ['https://0x7f000001/hooks', /127\.0\.0\.1 is a loopback address/],
  ['https://0177.0.0.1/hooks', /127\.0\.0\.1 is a loopback address/],
  ['https://loopback.example.net/hooks', /loopback\.example\.net resolves to 127\.0\.0\.1, a loopback address/],
  ['https://metadata.example.net/hooks', /resolves to 169\.254\.169\.254/],
  ['https://nowhere.example.net/hooks', /nowhere\.example\.net could not be resolved \(ENOTFOUND\)/],
  ['http://partner.example.net/hooks', /must use https/],
  ['https://user:password@partner.example.net/hooks', /user name or password/],
];

const endpointCount = async () => (await t.server.db.pool.query('SELECT count(*)::int AS n FROM webhook_endpoints')).rows[0].n;

describe('createWebhookEndpoint refuses URLs that are not https to a public address (422)', () => {
  it.each(refused)('%s', async (url, why) => {
    const before = await endpointCount();
    const problem = expectProblem(await t.call('POST', '/webhook-endpoints', { body: endpointBody(url) }), 422);
    expect(problem.errors?.url?.[0]).toMatch(why);
    expect(problem.detail).toMatch(why);
    expect(problem.detail).toMatch(/^The url field is refused: /);
    expect(await endpointCount()).toBe(before);
  });

  it('accepts https to a name that resolves to a public address (201)', async () => {
    const endpoint = await createEndpoint(t, endpointBody('https://partner.example.net/hooks'));
    expect(endpoint.url).toBe('https://partner.example.net/hooks');
  });
});

describe('updateWebhookEndpoint refuses them too (422), and keeps the URL it had', () => {
  it.each(refused)('%s', async (url, why) => {
    const endpoint = await createEndpoint(t, endpointBody('https://partner.example.net/hooks'));
    const problem = expectProblem(await t.call('PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { url } }), 422);
    expect(problem.errors?.url?.[0]).toMatch(why);
    expect(await endpointRow(t, endpoint.id)).toMatchObject({ url: 'https://partner.example.net/hooks', version: 1 });
  });
});

describe('testWebhookEndpoint checks again at connect time', () => {
  it('a name that resolved publicly at creation and to loopback now is blocked, not sent', async () => {
    names.set('rebinding.example.net', PUBLIC);
    const endpoint = await createEndpoint(t, endpointBody('https://rebinding.example.net/hooks'));
    names.set('rebinding.example.net', '127.0.0.1');
    const reply = await t.call('POST', `/webhook-endpoints/${endpoint.id}/test`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.attempt).toMatchObject({ status_code: null, error: 'blocked', response_body: null });
  });
});
