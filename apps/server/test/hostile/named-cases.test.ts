// The catalogue of hostile requests, each by name. Every one must get a 4xx
// application/problem+json that keeps the contract, and change no row. Search terms full of SQL,
// LIKE and regex metacharacters are the exception: they are valid and must match literally.

import { gzipSync } from 'node:zlib';
import type { OperationId } from '@deals/api-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { BODY_LIMIT_BYTES } from '../../src/http/json-body.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { PROTOTYPE_KEYS } from './contract-arbitraries.ts';
import { expectContractSuccess, expectHostileProblem, withoutRowChanges } from './expect-hostile.ts';
import { encodeQueryValue, type RawClient, type RawReply, rawClient } from './raw-http.ts';
import { buildHostileWorld, type HostileWorld, tamperCursor } from './world-data.ts';

const BASE = basePath;
const MB = BODY_LIMIT_BYTES;

let server: TestServer;
let hostile: HostileWorld;
let http: RawClient;

beforeAll(async () => {
  server = await startTestServer();
  hostile = await buildHostileWorld(server, { customers: 6, deals: 6, deletable: 0 });
  http = rawClient(server.origin, 2);
});
afterAll(async () => {
  http?.close();
  await server?.close();
});

type Send = { headers?: Record<string, string>; json?: unknown; body?: string | Buffer; contentType?: string | null };

/** A request as the world's key in its first department; `json` is serialised, `body` sent as is. */
function send(method: string, path: string, options: Send = {}): Promise<RawReply> {
  const headers: Record<string, string> = { 'X-Api-Key': hostile.world.apiKey, 'X-Department-Id': hostile.world.department.id };
  const body = options.body ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
  if (body !== undefined && options.contentType !== null) headers['Content-Type'] = options.contentType ?? 'application/json';
  return http.send({ method, path: BASE + path, headers: { ...headers, ...options.headers }, ...(body === undefined ? {} : { body }) });
}

/** Sends, checks that no row changed, and expects a contract-keeping problem. */
async function hostileCase(
  operationId: OperationId | undefined,
  statuses: number | number[],
  method: string,
  path: string,
  options: Send = {},
) {
  const reply = await withoutRowChanges(server, () => send(method, path, options));
  return expectHostileProblem(reply, statuses, operationId, method);
}

const dealPath = () => `/deals/${hostile.dealIds[0]}`;
const customerPath = () => `/customers/${hostile.customerIds[0]}`;
// The body operations, each with the smallest valid body of its schema.
const writes = () =>
  [
    ['createDeal', 'POST', '/deals', { name: 'x' }],
    ['updateDeal', 'PATCH', dealPath(), { name: 'x' }],
    ['createCustomer', 'POST', '/customers', { last_name: 'x' }],
    ['updateCustomer', 'PATCH', customerPath(), { last_name: 'x' }],
  ] as const;

describe('request bodies', () => {
  it('413 for a body of 1 MB + 1 byte', async () => {
    for (const [operationId, method, path, valid] of writes()) {
      const json = JSON.stringify({ ...valid, note: '' });
      const body = json.replace('"note":""', `"note":"${'a'.repeat(MB + 1 - json.length)}"`);
      expect(Buffer.byteLength(body)).toBe(MB + 1);
      await hostileCase(operationId, 413, method, path, { body });
    }
  });

  // The server takes no compressed bodies at all (nothing to inflate, so no gzip bomb).
  it('415 for any Content-Encoding: a gzip bomb, a body that is not gzip, an unknown encoding', async () => {
    const bomb = gzipSync(Buffer.alloc(5 * MB, ' '));
    await hostileCase('createDeal', 415, 'POST', '/deals', { body: bomb, headers: { 'Content-Encoding': 'gzip' } });
    await hostileCase('createDeal', 415, 'POST', '/deals', { body: '{"name":"x"}', headers: { 'Content-Encoding': 'x-unknown' } });
    await hostileCase('createDeal', 415, 'POST', '/deals', { body: '{"name":"not gzip"}', headers: { 'Content-Encoding': 'gzip' } });
  });

  it('400 for JSON nested 10,000 deep, in arrays and in objects', async () => {
    for (const [operationId, method, path] of writes()) {
      await hostileCase(operationId, 400, method, path, { body: `{"name":${'['.repeat(10_000)}${']'.repeat(10_000)}}` });
      await hostileCase(operationId, 400, method, path, { body: `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}` });
    }
  });

  it('400 for duplicate keys, also when one is escaped or nested', async () => {
    await hostileCase('createDeal', 400, 'POST', '/deals', { body: '{"name":"a","name":"b"}' });
    await hostileCase('createDeal', 400, 'POST', '/deals', { body: '{"name":"a","n\\u0061me":"b"}' });
    await hostileCase('createDeal', 400, 'POST', '/deals', { body: '{"name":"a","customers":[{"last_name":"x","last_name":"y"}]}' });
    await hostileCase('updateCustomer', 400, 'PATCH', customerPath(), { body: '{"email":null,"email":"a@b.example"}' });
  });

  it('400 for bytes that are not UTF-8', async () => {
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]) {
      const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from(bytes), Buffer.from('"}')]);
      await hostileCase('createDeal', 400, 'POST', '/deals', { body });
      await hostileCase('updateCustomer', 400, 'PATCH', customerPath(), { body });
    }
  });

  it('400 for bodies that are not a JSON document', async () => {
    for (const body of ['', '{', '{"name":"x",}', "{'name':'x'}", 'NaN', '{"name":"x"} trailing']) {
      await hostileCase('createDeal', 400, 'POST', '/deals', { body });
    }
  });

  it('422 for fields named like the properties of every JavaScript object', async () => {
    for (const key of PROTOTYPE_KEYS) {
      const body = `{"name":"x","${key}":{"polluted":true}}`;
      const problem = await hostileCase('createDeal', 422, 'POST', '/deals', { body });
      expect(Object.keys(problem!.errors ?? {})).toEqual([key]);
      await hostileCase('updateDeal', 422, 'PATCH', dealPath(), { body });
      await hostileCase('createCustomer', 422, 'POST', '/customers', { body: `{"last_name":"x","${key}":"\\u0000"}` });
      await hostileCase('updateCustomer', 422, 'PATCH', customerPath(), { body: `{"${key}":1}` });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('422 with a Problem the contract allows for a field name of 600 characters and for 250 unknown fields', async () => {
    await hostileCase('createDeal', 422, 'POST', '/deals', { json: { name: 'x', ['k'.repeat(600)]: 1 } });
    const many = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`unknown_${i}`, i]));
    await hostileCase('createCustomer', 422, 'POST', '/customers', { json: { last_name: 'x', ...many } });
  });
});

describe('numbers', () => {
  it('422 for a volume of 1e300, 2^53, -1 and 1.5, written as JSON numbers', async () => {
    for (const volume of ['1e300', '9007199254740992', '9007199254740993', '-1', '1.5', '1e999', '-0.0001']) {
      await hostileCase('createDeal', 422, 'POST', '/deals', { body: `{"name":"x","volume":${volume}}` });
      await hostileCase('updateDeal', 422, 'PATCH', dealPath(), { body: `{"volume":${volume}}` });
    }
  });

  it('4xx for a limit of 1e20, -1, 0, 101, 1.5, text and NUL', async () => {
    for (const limit of ['1e20', '-1', '0', '101', '1.5', 'abc', '%00', '', '99999999999999999999999']) {
      for (const [operationId, path] of [
        ['listDeals', '/deals'],
        ['listCustomers', '/customers'],
        ['listSteps', '/steps'],
        ['listEmployees', '/employees'],
        ['listDealStepChanges', `${dealPath()}/step-changes`],
      ] as const) {
        await hostileCase(operationId, [400, 422], 'GET', `${path}?limit=${limit}`);
      }
    }
  });
});

describe('strings with NUL or a lone surrogate', () => {
  it('422 in body fields, top-level and nested', async () => {
    for (const bad of ['a\\u0000b', '\\u0000', 'a\\ud800b', '\\udc00', 'x\\udfff\\ud800y']) {
      await hostileCase('createDeal', 422, 'POST', '/deals', { body: `{"name":"${bad}"}` });
      await hostileCase('createDeal', 422, 'POST', '/deals', { body: `{"name":"x","customers":[{"last_name":"${bad}"}]}` });
      await hostileCase('updateDeal', 422, 'PATCH', dealPath(), { body: `{"note":"${bad}"}` });
      await hostileCase('createCustomer', 422, 'POST', '/customers', { body: `{"last_name":"x","city":"${bad}"}` });
      await hostileCase('updateCustomer', 422, 'PATCH', customerPath(), { body: `{"email":"${bad}@x.example"}` });
    }
  });

  it('4xx in the query q (and email): NUL, and lone surrogates, which a URL can only carry as invalid UTF-8', async () => {
    // %ED%A0%80 is U+D800 encoded as if it were a character (CESU-8); %FF is no UTF-8 at all.
    for (const bad of ['%00', 'a%00b', '%ED%A0%80', 'a%ED%B0%80b', '%FF', '%C0%AF']) {
      await hostileCase('listDeals', [400, 422], 'GET', `/deals?q=${bad}`);
      await hostileCase('listCustomers', [400, 422], 'GET', `/customers?q=${bad}`);
      await hostileCase('listCustomers', [400, 422], 'GET', `/customers?email=${bad}`);
    }
  });
});

describe('SQL, LIKE and regex metacharacters in q', () => {
  const TERMS = [
    "' OR 1=1 --",
    '%',
    '_',
    '\\',
    '.*',
    '(',
    '[',
    '$$',
    ';DROP TABLE deals;',
    "'",
    '"',
    '%_\\',
    'under_score',
    '100%',
    '*',
    '?',
    '^',
    '|',
    ')',
  ];

  async function all(path: string): Promise<Record<string, unknown>[]> {
    const reply = await send('GET', `${path}${path.includes('?') ? '&' : '?'}limit=100`);
    expect(reply.status).toBe(200);
    expect((reply.body as { next_cursor: unknown }).next_cursor).toBeNull(); // the world is small
    return (reply.body as { data: Record<string, unknown>[] }).data;
  }

  beforeAll(async () => {
    // Decoys that only a wildcard or a regex would match: `_` and `%` must not act as LIKE wildcards.
    for (const name of ['underXscore', '100 percent', 'backslash', 'dotXstar', 'a_c', 'abc', 'quote " double']) {
      expect((await send('POST', '/deals', { json: { name } })).status).toBe(201);
      expect((await send('POST', '/customers', { json: { last_name: name } })).status).toBe(201);
    }
  });

  it('200 with exactly the deals whose name contains the term, case-insensitively', async () => {
    const names = (await all('/deals')).map((d) => d.name as string);
    for (const term of [...TERMS, 'a_c']) {
      const reply = await withoutRowChanges(server, () => send('GET', `/deals?limit=100&q=${encodeQueryValue(term)}`));
      expectContractSuccess(reply, 200, 'listDeals');
      const found = (reply.body as { data: { name: string }[] }).data.map((d) => d.name).sort();
      expect(found, `q=${term}`).toEqual(names.filter((n) => n.toLowerCase().includes(term.toLowerCase())).sort());
    }
  });

  it('200 with exactly the customers whose name, company or email contains the term', async () => {
    const haystacks = new Map(
      (await all('/customers')).map((c) => [
        c.id as string,
        [c.last_name, c.first_name, c.company, c.email]
          .map((v) => v ?? '')
          .join(' ')
          .toLowerCase(),
      ]),
    );
    for (const term of [...TERMS, 'a_c']) {
      const reply = await withoutRowChanges(server, () => send('GET', `/customers?limit=100&q=${encodeQueryValue(term)}`));
      expectContractSuccess(reply, 200, 'listCustomers');
      const found = (reply.body as { data: { id: string }[] }).data.map((c) => c.id).sort();
      expect(found, `q=${term}`).toEqual(
        [...haystacks]
          .filter(([, text]) => text.includes(term.toLowerCase()))
          .map(([id]) => id)
          .sort(),
      );
    }
  });

  it('200 and nothing found for an email that is SQL', async () => {
    for (const email of ["' OR 1=1 --", "x' OR 'a'='a", '%', '_@_']) {
      const reply = await withoutRowChanges(server, () => send('GET', `/customers?email=${encodeQueryValue(email)}`));
      expectContractSuccess(reply, 200, 'listCustomers');
      expect((reply.body as { data: unknown[] }).data).toEqual([]);
    }
  });
});

describe('cursors', () => {
  const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  it('4xx for cursors that are not base64url at all', async () => {
    for (const cursor of ['!!!', 'a b', '%00', 'x'.repeat(513), 'eyJrIjoiIn0=', 'a/b+c']) {
      await hostileCase('listDeals', [400, 422], 'GET', `/deals?cursor=${encodeQueryValue(cursor)}`);
    }
  });

  it('400 for base64url of garbage, of garbage JSON and of JSON of the wrong shape', async () => {
    const garbage = [
      'garbage',
      '{',
      'null',
      '[]',
      '12',
      '"k"',
      { k: 1 },
      { k: 'x', i: 'y', f: 'z' },
      { k: 'x', i: hostile.dealIds[0], f: 'wrong' },
      { i: hostile.dealIds[0] },
    ];
    for (const cursor of garbage.map(encode)) {
      for (const [operationId, path] of [
        ['listDeals', '/deals'],
        ['listCustomers', '/customers'],
        ['listSteps', '/steps'],
        ['listEmployees', '/employees'],
        ['listDealStepChanges', `${dealPath()}/step-changes`],
      ] as const) {
        await hostileCase(operationId, 400, 'GET', `${path}?cursor=${cursor}`);
      }
    }
  });

  it('400 for a cursor of another sort, filter, operation, department or tenant', async () => {
    const byCreated = hostile.cursors[0]!; // listDeals sort=created_at
    await hostileCase('listDeals', 400, 'GET', `/deals?sort=-created_at&cursor=${byCreated}`);
    await hostileCase('listDeals', 400, 'GET', `/deals?sort=created_at&q=deal&cursor=${byCreated}`);
    await hostileCase('listCustomers', 400, 'GET', `/customers?sort=created_at&cursor=${byCreated}`);
    await hostileCase('listDeals', 400, 'GET', `/deals?sort=created_at&cursor=${byCreated}`, {
      headers: { 'X-Department-Id': hostile.world.otherDepartment.id },
    });
    await hostileCase('listDeals', 400, 'GET', `/deals?cursor=${hostile.otherTenantCursor}`);
    await hostileCase('listDealStepChanges', 400, 'GET', `/deals/${hostile.dealIds[1]}/step-changes?cursor=${hostile.cursors.at(-1)}`);
  });

  it('400 for a real cursor whose sort key was replaced by one no row of that sort can have', async () => {
    // Cursors are base64url JSON a client can read and edit, and the fingerprint does not cover
    // the sort key `k`. A key that is not of the sort's type (no timestamp, no integer, a NUL)
    // cannot be a next_cursor of this query: it must be refused as such, not reach PostgreSQL.
    const notATimestamp = [{ k: 'garbage' }, { k: '1e999' }, { k: '\u0000' }, { k: ['x'] }, { i: 'not-a-uuid' }];
    const notAVolume = [{ k: 'garbage' }, { k: '1e999' }, { k: '99999999999999999999' }, { k: '\u0000' }, { k: ['x'] }];
    const notAName = [{ k: '\u0000' }, { k: ['x'] }, { i: 'not-a-uuid' }];
    const sorts = [
      ['created_at', notATimestamp],
      ['-created_at', notATimestamp],
      ['updated_at', notATimestamp],
      ['-updated_at', notATimestamp],
      ['volume', notAVolume],
      ['-volume', notAVolume],
      ['name', notAName],
      ['-name', notAName],
    ] as const;
    for (const [i, [sort, changes]] of sorts.entries()) {
      for (const change of changes) {
        await hostileCase('listDeals', 400, 'GET', `/deals?limit=1&sort=${sort}&cursor=${tamperCursor(hostile.cursors[i]!, change)}`);
      }
    }
    const customerCursor = hostile.cursors[8]!; // listCustomers sort=created_at
    await hostileCase(
      'listCustomers',
      400,
      'GET',
      `/customers?limit=1&sort=created_at&cursor=${tamperCursor(customerCursor, { k: 'garbage' })}`,
    );
    const stepChangeCursor = hostile.cursors.at(-1)!;
    await hostileCase(
      'listDealStepChanges',
      400,
      'GET',
      `/deals/${hostile.dealIds[0]}/step-changes?limit=1&cursor=${tamperCursor(stepChangeCursor, { k: 'garbage' })}`,
    );
  });
});

describe('ids in paths and headers', () => {
  const pathOperations = (id: string) =>
    [
      ['getDeal', 'GET', `/deals/${id}`, undefined],
      ['deleteDeal', 'DELETE', `/deals/${id}`, undefined],
      ['updateDeal', 'PATCH', `/deals/${id}`, { name: 'x' }],
      ['listDealStepChanges', 'GET', `/deals/${id}/step-changes`, undefined],
      ['getCustomer', 'GET', `/customers/${id}`, undefined],
      ['updateCustomer', 'PATCH', `/customers/${id}`, { last_name: 'x' }],
    ] as const;

  it('404 for malformed UUIDs in paths', async () => {
    const real = hostile.dealIds[0]!;
    for (const id of [
      '1',
      '%00',
      '..',
      '%2e%2e',
      'not-a-uuid',
      `${real}0`,
      `${real.slice(0, -1)}g`,
      `urn:uuid:${real}`,
      `%20${real}`,
      '%27%20OR%201=1%20--',
    ]) {
      for (const [operationId, method, path, json] of pathOperations(id)) await hostileCase(operationId, 404, method, path, { json });
    }
  });

  it('404 for path ids that are not UTF-8 (a lone surrogate as CESU-8, a stray byte)', async () => {
    for (const id of ['%ED%A0%80', `${hostile.dealIds[0]!.slice(0, -3)}%ED%BF%BF`, '%FF', '%C0%AF']) {
      for (const [operationId, method, path, json] of pathOperations(id)) await hostileCase(operationId, 404, method, path, { json });
    }
  });

  it('404 with a Problem the contract allows for an id of 3,000 characters', async () => {
    for (const [operationId, method, path, json] of pathOperations('x'.repeat(3000)))
      await hostileCase(operationId, 404, method, path, { json });
  });

  it('404 for paths that climb out of a route', async () => {
    for (const path of [
      '/deals/../customers',
      `/deals/${hostile.dealIds[0]}/../../customers`,
      '/deals/%2F..%2Fcustomers',
      '/deals//',
      '/./deals/./x',
    ]) {
      await hostileCase(undefined, 404, 'GET', path);
    }
  });

  it('400 for a malformed X-Department-Id, 403 for a department not granted', async () => {
    const id = hostile.world.department.id;
    for (const department of ['sales', '1', `${id}x`, `${id}, ${id}`, `{${id}}`, id.replace(/-/g, ''), 'x'.repeat(5000), "' OR 1=1 --"]) {
      await hostileCase('listDeals', 400, 'GET', '/deals', { headers: { 'X-Department-Id': department } });
      await hostileCase('createDeal', 400, 'POST', '/deals', { json: { name: 'x' }, headers: { 'X-Department-Id': department } });
    }
    await hostileCase('listDeals', 403, 'GET', '/deals', { headers: { 'X-Department-Id': hostile.world.otherTenant.departments[0]!.id } });
  });

  it('422 naming the index of an unknown customer id sent in upper case', async () => {
    const known = hostile.customerIds[0]!.toUpperCase();
    const unknown = '019CBD8B-DD90-7119-B13E-F99DC519C4AD';
    const problem = await hostileCase('createDeal', 422, 'POST', '/deals', { json: { name: 'x', customer_ids: [known, unknown] } });
    expect(problem!.errors).toEqual({ 'customer_ids.1': [expect.stringContaining('customer_ids.1')] });
  });
});

describe('media types', () => {
  it('415 for a body that is not application/json, or has no Content-Type', async () => {
    for (const [operationId, method, path, valid] of writes()) {
      for (const contentType of [
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'json',
        null,
      ]) {
        await hostileCase(operationId, 415, method, path, { body: JSON.stringify(valid), contentType });
      }
    }
  });
});

describe('the size of the request head', () => {
  it('a 4xx problem for 10,000 query parameters', async () => {
    // 10,000 parameters need at least 20,000 bytes, more than Node's 16 KB default for a request head.
    await hostileCase('listDeals', [400, 414, 431], 'GET', `/deals?${Array.from({ length: 10_000 }, (_, i) => `p${i}=1`).join('&')}`);
  });

  it('400 or 422 for thousands of query parameters that fit in the request head', async () => {
    await hostileCase('listDeals', 400, 'GET', `/deals?${Array.from({ length: 2000 }, (_, i) => `p${i}`).join('&')}`);
    await hostileCase('listDeals', 400, 'GET', `/deals?${Array.from({ length: 5000 }, () => 'a').join('&')}`);
    await hostileCase('listDeals', [400, 422], 'GET', `/deals?${Array.from({ length: 1500 }, () => 'limit=1').join('&')}`);
    await hostileCase('listDeals', [400, 422], 'GET', `/deals?${Array.from({ length: 3000 }, () => 'q=a').join('&')}`);
  });

  it('400 with a Problem the contract allows for an unknown query parameter of 2,100 characters', async () => {
    await hostileCase('listDeals', 400, 'GET', `/deals?${'z'.repeat(2100)}=1`);
  });

  it('401 for an X-Api-Key of 10 KB', async () => {
    await hostileCase('listDeals', 401, 'GET', '/deals', { headers: { 'X-Api-Key': 'k'.repeat(10 * 1024) } });
    await hostileCase('createDeal', 401, 'POST', '/deals', {
      json: { name: 'x' },
      headers: { 'X-Api-Key': `${hostile.world.apiKey}${'k'.repeat(10 * 1024)}` },
    });
  });

  it('4xx for an Idempotency-Key of 256 characters, and no record of it', async () => {
    await hostileCase('createDeal', [400, 422], 'POST', '/deals', { json: { name: 'x' }, headers: { 'Idempotency-Key': 'k'.repeat(256) } });
    await hostileCase('createCustomer', [400, 422], 'POST', '/customers', {
      json: { last_name: 'x' },
      headers: { 'Idempotency-Key': 'k'.repeat(256) },
    });
  });
});

describe('methods', () => {
  it('405 with Allow for HEAD and OPTIONS on API routes', async () => {
    for (const path of ['/deals', dealPath(), `${dealPath()}/step-changes`, '/customers', customerPath(), '/steps', '/employees']) {
      for (const method of ['HEAD', 'OPTIONS']) {
        const reply = await withoutRowChanges(server, () => send(method, path));
        expectHostileProblem(reply, 405, undefined, method);
        expect(reply.headers.allow, `${method} ${path}`).toMatch(/GET/);
      }
    }
  });

  it('405 for methods the contract does not have on a route, also with a body', async () => {
    await hostileCase(undefined, 405, 'PUT', dealPath(), { json: { name: 'x' } });
    await hostileCase(undefined, 405, 'DELETE', '/deals');
    await hostileCase(undefined, 405, 'POST', dealPath(), { json: { name: 'x' } });
    await hostileCase(undefined, 405, 'TRACE', '/deals');
  });
});
