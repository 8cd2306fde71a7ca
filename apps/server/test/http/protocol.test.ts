// What every response shares, whatever the operation: request ids, problem bodies, routing
// errors, authentication, health endpoints, the contract and the docs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/admin/tenancy.ts';
import { expectProblem } from '../support/http.ts';
import { useWorld } from '../support/world.ts';

// Built by apps/docs before this package's tests (turbo: test depends on ^build).
const docsDir = fileURLToPath(new URL('../../../docs/dist', import.meta.url));
// The key cache's clock is pinned: a test moves it past the TTL instead of sleeping.
let clock = 1_700_000_000_000;
const t = useWorld({ keyCacheTtlMs: 300, docsDir, now: () => clock });

describe('every response', () => {
  it('has an X-Request-Id, keeps a valid caller one and replaces an unsafe one', async () => {
    const generated = await t.call('GET', '/steps');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await t.call('GET', '/steps', { headers: { 'X-Request-Id': 'partner-trace.42' } });
    expect(kept.headers.get('x-request-id')).toBe('partner-trace.42');
    const replaced = await t.call('GET', '/steps', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id with spaces');
    const error = await t.call('GET', '/deals/019cbd8b-dd90-7119-b13e-f99dc519c4ad', { headers: { 'X-Request-Id': 'err-1' } });
    expect(error.headers.get('x-request-id')).toBe('err-1');
  });

  it('has no X-Powered-By', async () => {
    expect((await t.call('GET', '/steps')).headers.get('x-powered-by')).toBeNull();
  });
});

describe('routing', () => {
  it('404 problem for an unknown route, inside and outside the API', async () => {
    expectProblem(await t.call('GET', '/nothing-here'), 404);
    const outside = await fetch(`${t.server.origin}/nothing-here`);
    expect(outside.status).toBe(404);
    expect(outside.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('405 with Allow for a method the route does not have', async () => {
    const reply = await t.call('PUT', '/deals', { body: { name: 'x' } });
    expectProblem(reply, 405);
    expect(reply.headers.get('allow')).toBe('POST, GET');
  });
});

describe('authentication', () => {
  it('401 without a key, with an unknown key, with a revoked key', async () => {
    for (const apiKey of [null, 'dk_00000000_unknown', t.world.revokedKey]) {
      const problem = expectProblem(await t.call('GET', '/deals', { apiKey }), 401);
      expect(problem.message).toBe('Unauthenticated.');
    }
  });

  it('403 for a department not granted, the same whether it exists or not', async () => {
    // The same X-Request-Id for both, so that the bodies' request_id is the same too.
    const headers = { 'X-Request-Id': 'same-request' };
    const existing = expectProblem(await t.call('GET', '/deals', { apiKey: t.world.otherDepartmentKey, headers }), 403);
    const missing = expectProblem(
      await t.call('GET', '/deals', { apiKey: t.world.otherDepartmentKey, departmentId: '019cbd8b-dd90-7119-b13e-f99dc519c4ad', headers }),
      403,
    );
    expect(missing).toEqual(existing);
  });

  it('400 for a missing or malformed X-Department-Id', async () => {
    expectProblem(await t.call('GET', '/deals', { departmentId: null }), 400);
    expectProblem(await t.call('GET', '/deals', { departmentId: 'sales' }), 400);
  });

  it('401 before 422: an unauthenticated invalid request learns nothing about validation', async () => {
    expectProblem(await t.call('POST', '/deals', { apiKey: null, body: { bogus: true } }), 401);
  });

  it('a revoked key stops working within the cache time', async () => {
    const key = await createApiKey(t.server.db.prisma, { tenant_id: t.world.tenant.tenant_id, department_ids: [t.world.department.id] });
    expect((await t.call('GET', '/steps', { apiKey: key.api_key })).status).toBe(200);
    await revokeApiKey(t.server.db.prisma, { id: key.id });
    // Within the TTL the cached grant still answers; past it, the revocation is seen.
    clock += 300;
    expect((await t.call('GET', '/steps', { apiKey: key.api_key })).status).toBe(200);
    clock += 1;
    expectProblem(await t.call('GET', '/steps', { apiKey: key.api_key }), 401);
  });

  it('records last_used_at, storing only the hash and prefix of the secret', async () => {
    const { rows } = await t.server.db.pool.query(
      `SELECT prefix, encode(secret_hash, 'hex') AS hash, last_used_at FROM api_keys WHERE $1 LIKE prefix || '%'`,
      [t.world.apiKey],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].last_used_at).not.toBeNull();
    expect(rows[0].hash).toHaveLength(64);
    const dump = JSON.stringify((await t.server.db.pool.query('SELECT * FROM api_keys')).rows);
    expect(dump).not.toContain(t.world.apiKey);
  });
});

describe('service endpoints', () => {
  it('/healthz and /readyz', async () => {
    expect((await fetch(`${t.server.origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.server.origin}/readyz`)).status).toBe(200);
  });

  it('/docs serves the reference site', async () => {
    expect(existsSync(docsDir), 'build the docs first: npm run docs').toBe(true);
    const reply = await fetch(`${t.server.origin}/docs/`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await reply.text()).toContain('<title>Deals Integration API');
  });

  it('/openapi.yaml serves the contract', async () => {
    const reply = await fetch(`${t.server.origin}/openapi.yaml`);
    expect(reply.status).toBe(200);
    expect(await reply.text()).toMatch(/^openapi: 3\.1\.0/);
  });
});
