// api_uuidv7() (migration 20261202000400) makes the ids of the webhook deliveries PostgreSQL
// creates, on every supported PostgreSQL (the built-in uuidv7() is 18's): each must be a
// version 7, variant 10 UUID whose first 48 bits are the time it was made.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

describe('api_uuidv7()', () => {
  it('makes version 7 UUIDs carrying the current Unix milliseconds, all distinct', async () => {
    const before = Date.now();
    const { rows } = await client.query<{ id: string }>('SELECT api_uuidv7()::text AS id FROM generate_series(1, 1000)');
    const after = Date.now();
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      expect(ms).toBeGreaterThanOrEqual(before - 1000); // the database's clock is this machine's
      expect(ms).toBeLessThanOrEqual(after + 1000);
    }
  });
});
