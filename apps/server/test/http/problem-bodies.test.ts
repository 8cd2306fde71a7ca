// Every problem body carries the request id, equal to the X-Request-Id header, so a body a
// partner logged (or pasted into a support ticket) finds the request in the server's logs.
// That includes answers written outside Express (431) and the limits' 429s.
import { contractValidator } from '@deals/contract-suite/contract-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { type RawClient, type RawReply, type RawRequest, rawClient } from '../hostile/raw-http.ts';
import { type ListeningApp, listenTestApp } from '../support/server.ts';
import { useWorld } from '../support/world.ts';

const contract = contractValidator();
const t = useWorld();
// A second app on the same database whose address is blocked after one unknown key.
let strict: ListeningApp;
let client: RawClient;
let strictClient: RawClient;
beforeAll(async () => {
  strict = await listenTestApp(t.server.db, { authFailuresPerMinute: 1 });
  client = rawClient(t.server.origin);
  strictClient = rawClient(strict.origin);
});
afterAll(async () => {
  client?.close();
  strictClient?.close();
  await strict?.close();
});

const api = (path: string) => basePath + path;

/** A GET as the world's key unless `req` says otherwise. */
function send(via: RawClient, req: Partial<RawRequest> & { path: string }): Promise<RawReply> {
  return via.send({
    method: 'GET',
    ...req,
    headers: { 'X-Api-Key': t.world.apiKey, 'X-Department-Id': t.world.department.id, ...req.headers },
  });
}

function expectRequestIdInBody(reply: RawReply, status: number): string {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.contentType).toMatch(/^application\/problem\+json/);
  expect(contract.checkSchema('Problem', reply.body)).toEqual([]);
  const header = reply.headers['x-request-id'];
  expect(header).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  expect((reply.body as { request_id: string }).request_id).toBe(header);
  return header as string;
}

describe('problem bodies carry request_id = X-Request-Id', () => {
  it('400, 401, 403, 404, 405, 413, 415, 422', async () => {
    const json = { 'Content-Type': 'application/json' };
    const cases: [number, Partial<RawRequest> & { path: string }][] = [
      [400, { path: api('/deals?colour=red') }],
      [401, { path: api('/deals'), headers: { 'X-Api-Key': 'dk_00000000_unknown' } }],
      [403, { path: api('/deals'), headers: { 'X-Department-Id': t.world.otherTenant.departments[0]!.id } }],
      [404, { path: api('/deals/019cbd8b-dd90-7119-b13e-f99dc519c4ad') }],
      [404, { path: '/nothing' }], // outside the API: no route at all
      [405, { method: 'PUT', path: api('/deals'), headers: json, body: '{}' }],
      [413, { method: 'POST', path: api('/deals'), headers: json, body: `{"name":"${'x'.repeat(1_100_000)}"}` }],
      [415, { method: 'POST', path: api('/deals'), headers: { 'Content-Type': 'text/plain' }, body: 'name' }],
      [422, { method: 'POST', path: api('/deals'), headers: json, body: '{"volume":-1}' }],
    ];
    for (const [status, req] of cases) expectRequestIdInBody(await send(client, req), status);
  });

  it("keeps the caller's own X-Request-Id in the body", async () => {
    const reply = await send(client, {
      path: api('/deals/019cbd8b-dd90-7119-b13e-f99dc519c4ad'),
      headers: { 'X-Request-Id': 'partner-trace.42' },
    });
    expect(expectRequestIdInBody(reply, 404)).toBe('partner-trace.42');
  });

  it('429 from too many failed authentications', async () => {
    const unknownKey = { 'X-Api-Key': 'dk_00000000_unknown' };
    expectRequestIdInBody(await send(strictClient, { path: api('/deals'), headers: unknownKey }), 401);
    const reply = await send(strictClient, { path: api('/deals'), headers: unknownKey });
    expectRequestIdInBody(reply, 429);
    expect((reply.body as { detail: string }).detail).toBe(
      'Too many failed authentications (unknown or revoked API keys) from this address.',
    );
  });

  it('431, answered by the HTTP server before Express', async () => {
    const reply = await send(client, { path: api(`/deals?${'p=1&'.repeat(5000)}`) });
    expectRequestIdInBody(reply, 431);
  });
});
