// Following GET /events as a partner does, and what the tests of this folder check events against.
//
// xmin is cluster-wide: other test files' transactions (other databases, same PostgreSQL) hold
// the feed back for a moment. So a follower polls until what it waits for is served, with a
// generous deadline, and never assumes an event is served right after the write's response.
import { contractValidator } from '@deals/contract-suite/contract-validator';
import { expect } from 'vitest';
import { hashApiKeySecret } from '../../src/auth/api-key-secret.ts';
import type { Database } from '../../src/db/database.ts';
import type { client, Reply } from '../support/http.ts';

export type Call = ReturnType<typeof client>;
export type FeedEvent = {
  id: string;
  type: string;
  timestamp: string;
  data: { object: any; version: number; previous_attributes?: Record<string, unknown> };
  origin: { request_id: string | null; api_key_id: string | null };
};

export const FEED_DEADLINE_MS = 20_000;

const contract = contractValidator();
const webhooks = (contract.document as { webhooks: Record<string, any> }).webhooks;

/** The errors of `event` against the schema of its type's entry in the contract's `webhooks:`. */
export function webhookSchemaErrors(event: FeedEvent): string[] {
  const entry = webhooks[event.type];
  if (!entry) return [`no webhooks entry for ${event.type}`];
  const ref: string = entry.post.requestBody.content['application/json'].schema.$ref;
  return contract.checkSchema(ref.split('/').at(-1) as never, event);
}

export async function feedPage(call: Call, query: string, options: Parameters<Call>[2] = {}): Promise<Reply> {
  const reply = await call('GET', `/events${query ? `?${query}` : ''}`, options);
  contract.assertResponse('listEvents', { status: reply.status, headers: reply.headers, body: reply.json });
  return reply;
}

/** The cursor of `start=now`. */
export async function nowCursor(call: Call, options: Parameters<Call>[2] = {}): Promise<string> {
  const reply = await feedPage(call, 'start=now', options);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json.data).toEqual([]);
  return reply.json.next_cursor;
}

/** Every event served after `cursor` right now (pages until has_more is false). */
export async function readAll(
  call: Call,
  cursor: string,
  extra = '',
  options: Parameters<Call>[2] = {},
): Promise<{ events: FeedEvent[]; cursor: string }> {
  const events: FeedEvent[] = [];
  for (;;) {
    const reply = await feedPage(call, `cursor=${cursor}&limit=100${extra}`, options);
    expect(reply.status, reply.text).toBe(200);
    events.push(...reply.json.data);
    cursor = reply.json.next_cursor;
    if (!reply.json.has_more) return { events, cursor };
  }
}

/**
 * Follows the feed from `cursor` until `done` holds for what was served; fails after the
 * deadline. Returns everything served (possibly more than `done` needed).
 */
export async function follow(
  call: Call,
  cursor: string,
  done: (events: FeedEvent[]) => boolean,
  extra = '',
  options: Parameters<Call>[2] = {},
): Promise<{ events: FeedEvent[]; cursor: string }> {
  const deadline = Date.now() + FEED_DEADLINE_MS;
  const events: FeedEvent[] = [];
  for (;;) {
    const page = await readAll(call, cursor, extra, options);
    events.push(...page.events);
    cursor = page.cursor;
    if (done(events)) return { events, cursor };
    if (Date.now() > deadline) throw new Error(`the feed did not serve what was expected in time; served: ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function eventCount(db: Database): Promise<number> {
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM events');
  return rows[0].n;
}

export async function apiKeyId(db: Database, apiKey: string): Promise<string> {
  const { rows } = await db.pool.query('SELECT id::text FROM api_keys WHERE secret_hash = $1', [hashApiKeySecret(apiKey)]);
  return rows[0].id;
}

/** The number in an ETag ("3" → 3). */
export const etagNumber = (reply: Reply): number => Number(JSON.parse(reply.headers.get('etag')!));
