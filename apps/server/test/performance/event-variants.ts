// The prepared statements of events (issue #7, data/events.ts); see variants.ts.
//
// The loaded database has no events: this loads some (the measured department's deal events,
// its sibling's, the tenant's customer events and other tenants'), with txids and UUIDv7 ids
// spread as real traffic spreads them, so that each feed statement is planned against a table
// where its partial index (events_department_feed_idx, events_tenant_feed_idx) or
// events_resource_idx pays off, as it must at a million rows.

import {
  currentFeedPosition,
  deleteExpiredEventBatch,
  deleteExpiredEvents,
  findEvent,
  firstUuidv7Of,
  listEvents,
} from '../../src/data/events.ts';
import { encodeCursor } from '../../src/data/pagination.ts';
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

/** An explained statement returns no rows; a function reading its one row then fails after the explain, which is all a variant needs. */
const explainedOnly = (run: Promise<unknown>) =>
  run.then(
    () => undefined,
    (error: Error) => {
      if (error.message.startsWith('could not explain')) throw error;
    },
  );

export async function eventVariants(loaded: LoadedDatabase, add: AddVariant): Promise<void> {
  const { db, scope, dealId } = loaded;
  const { rows: others } = await db.pool.query<{ tenant_id: string; id: string }>(
    `SELECT tenant_id::text, id::text FROM departments WHERE NOT (tenant_id = $1 AND id = $2) ORDER BY tenant_id = $1 DESC LIMIT 9`,
    [scope.tenantId, scope.departmentId],
  );
  // 60,000 events: a third of the measured department, a third tenant-wide customer events, a
  // third in its sibling department and other tenants; txids rising, ten events per transaction.
  await db.pool.query(
    `INSERT INTO events (tenant_id, id, txid, department_id, type, resource_id, resource_version, occurred_at, payload)
     SELECT CASE WHEN g % 3 = 2 THEN ($3::uuid[])[1 + g % $5] ELSE $1::uuid END,
            uuidv7(make_interval(secs => g - 60000)),
            (1000 + g / 10)::text::xid8,
            CASE g % 3 WHEN 0 THEN $2::uuid WHEN 1 THEN NULL ELSE ($4::uuid[])[1 + g % $5] END,
            CASE g % 3 WHEN 1 THEN 'customer.updated' ELSE 'deal.updated' END,
            CASE WHEN g % 300 = 0 THEN $6::uuid ELSE gen_random_uuid() END,
            2, now() - make_interval(secs => 60000 - g), '{}'
     FROM generate_series(1, 60000) g`,
    [scope.tenantId, scope.departmentId, others.map((o) => o.tenant_id), others.map((o) => o.id), others.length, dealId],
  );
  // As autovacuum leaves a table that stopped growing: the visibility map lets the walks scan index-only.
  await db.pool.query('VACUUM (ANALYZE) events');
  const { rows: sample } = await db.pool.query<{ txid: string; id: string }>(
    `SELECT txid::text, id::text FROM events WHERE tenant_id = $1 AND department_id = $2 ORDER BY txid, id OFFSET 10000 LIMIT 1`,
    [scope.tenantId, scope.departmentId],
  );
  const cursor = encodeCursor({ key: sample[0]!.txid, id: sample[0]!.id }, ['listEvents', scope.tenantId, scope.departmentId]);

  const queries = {
    'start=oldest': {},
    cursor: { cursor },
    types: { types: ['deal.deleted' as const] },
    'types, cursor': { types: ['deal.updated' as const, 'customer.updated' as const], cursor },
    resource_id: { resource_id: dealId },
    'resource_id, cursor': { resource_id: dealId, cursor },
    'resource_id, types, cursor': { resource_id: dealId, types: ['deal.updated' as const], cursor },
  };
  for (const [label, query] of Object.entries(queries)) {
    add('listEvents', label, (sql) => explainedOnly(listEvents(sql, scope, { limit: 100, ...query })));
  }
  add('currentFeedPosition', 'start=now', (sql) => explainedOnly(currentFeedPosition(sql)));
  add('findEvent', '', (sql) => findEvent(sql, scope, sample[0]!.id));
  add('deleteExpiredEvents', 'the tenants with expired events', (sql) => deleteExpiredEvents(sql, 30));
  add('deleteExpiredEventBatch', '', (sql) =>
    explainedOnly(deleteExpiredEventBatch(sql, scope.tenantId, firstUuidv7Of(Date.now() - 30 * 86_400_000), 5000)),
  );
}
