// Calling the customer routes over real HTTP as the demo tenant, and reading what they left in
// the database. Shared by the customer operation tests of this folder.
import { expect } from 'vitest';
import { basePath, contract } from '../../src/contract.ts';
import type { World } from '../support/fixtures.ts';
import type { TestServer } from '../support/server.ts';

export type Reply = { status: number; headers: Headers; text: string; json: any };
export type CallOptions = { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string; department?: string };

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The attributes of the contract's Customer, in the contract's order. */
export const customerAttributes: string[] = (contract as unknown as { components: { schemas: { Customer: { required: string[] } } } })
  .components.schemas.Customer.required;

/** Attributes a client may write: the Customer's, less the server-managed ones. */
export const writableAttributes = customerAttributes.filter((a) => !['id', 'tenant_id', 'created_at', 'updated_at'].includes(a));

export function customerApi(server: () => TestServer, world: () => World) {
  async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {
      'X-Api-Key': options.key ?? world().apiKey,
      'X-Department-Id': options.department ?? world().department.id,
      ...options.headers,
    };
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['Content-Type'] ??= 'application/json';
    const response = await fetch(server().baseUrl + path, { method, headers, body });
    const text = await response.text();
    const isJson = /json/.test(response.headers.get('content-type') ?? '');
    return { status: response.status, headers: response.headers, text, json: isJson && text ? JSON.parse(text) : undefined };
  }

  /** The customer's row as PostgreSQL has it, timestamps and dates as the API writes them. */
  async function customerRow(id: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await server().db.pool.query(
      `SELECT c.*, c.tenant_id::text AS tenant_id, c.id::text AS id, to_char(c.birthday, 'YYYY-MM-DD') AS birthday,
              api_timestamp(c.created_at) AS created_at, api_timestamp(c.updated_at) AS updated_at
       FROM customers c WHERE c.id = $1`,
      [id],
    );
    return rows[0];
  }

  async function customerCount(): Promise<number> {
    const { rows } = await server().db.pool.query('SELECT count(*)::int AS n FROM customers');
    return rows[0].n;
  }

  async function create(body: Record<string, unknown>): Promise<any> {
    const reply = await call('POST', '/customers', { body });
    expect(reply.status, reply.text).toBe(201);
    return reply.json;
  }

  return { call, customerRow, customerCount, create };
}

export function expectProblem(reply: Reply, status: number, path: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.headers.get('x-request-id')).toBeTruthy();
  expect(reply.headers.get('etag')).toBeNull();
  expect(reply.json).toMatchObject({ status, instance: basePath + path.split('?')[0] });
  for (const field of ['type', 'title', 'detail', 'message']) expect(typeof reply.json[field]).toBe('string');
}

/** A 422 with exactly these fields in `errors`, each with at least one message. */
export function expectFieldErrors(reply: Reply, path: string, fields: string[]): void {
  expectProblem(reply, 422, path);
  expect(reply.json).toMatchObject({ type: 'https://deals-api.dev/problems/validation-error', message: 'validation error' });
  expect(Object.keys(reply.json.errors ?? {}).sort()).toEqual([...fields].sort());
  for (const field of fields) {
    expect(reply.json.errors[field].length).toBeGreaterThan(0);
    for (const message of reply.json.errors[field]) expect(typeof message).toBe('string');
  }
}
