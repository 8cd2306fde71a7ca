// The feed's statements under their GENERIC plans (the ones named prepared statements run
// with: test/performance/generic-plans.ts), on 60,000 events (test/performance/event-variants.ts):
// every read of `events` is an ordered index scan of the index made for it, never a sequential
// scan or a bitmap scan whose rows are then sorted. (query-plans.test.ts explains the same
// variants on the loaded database; its checks do not watch the events table.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemoTenant } from '../../src/admin/tenancy.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { eventVariants } from '../performance/event-variants.ts';
import { type Explained, genericPlanSession, planNodes, planText } from '../performance/generic-plans.ts';
import type { LoadedDatabase } from '../performance/loaded-database.ts';
import type { Variant } from '../performance/variants.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let db: Database;
const explained: { label: string; plans: Explained[] }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: 2, poolWaitMs: 10_000, statementTimeoutMs: 60_000 });
  const tenant = await seedDemoTenant(db.prisma);
  for (let i = 0; i < 3; i++) await seedDemoTenant(db.prisma);
  const scope = { tenantId: tenant.tenant_id, departmentId: tenant.departments[0]!.id, apiKeyId: 'n/a' };
  const loaded = { db, scope, dealId: '01a00000-0000-7000-8000-000000000001' } as Partial<LoadedDatabase> as LoadedDatabase;
  const variants: Variant[] = [];
  await eventVariants(loaded, (operation, label, run) => variants.push({ operation, label: `${operation} ${label}`.trim(), run }));
  const session = await genericPlanSession(database.url);
  try {
    for (const v of variants) {
      const plans: Explained[] = [];
      await v.run(session.sql(plans));
      explained.push({ label: v.label, plans });
    }
  } finally {
    await session.close();
  }
}, 120_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** The scans of `events` in the plan: node type and index. */
const eventScans = (e: Explained) =>
  planNodes(e.plan)
    .filter((n) => n['Relation Name'] === 'events' && n['Node Type'].endsWith('Scan'))
    .map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`.trim());

const ORDERED = /^(Index Scan|Index Only Scan) /;

it('reads events only by ordered index scans, each feed branch on its own index', () => {
  const failures: string[] = [];
  for (const { label, plans } of explained) {
    if (plans.length === 0) failures.push(`${label}: nothing explained`);
    for (const plan of plans) {
      const scans = eventScans(plan);
      const unordered = scans.filter((s) => !ORDERED.test(s));
      if (unordered.length) failures.push(`${label}: ${unordered.join(', ')}\n${planText(plan.plan)}`);
      if (label.startsWith('listEvents')) {
        const expected = label.includes('resource_id') ? ['events_resource_idx'] : ['events_department_feed_idx', 'events_tenant_feed_idx'];
        for (const index of expected) {
          if (!scans.some((s) => s.endsWith(index))) failures.push(`${label}: does not use ${index}\n${planText(plan.plan)}`);
        }
      }
    }
  }
  expect(failures, failures.join('\n\n')).toEqual([]);
  expect(explained.filter((e) => e.label.startsWith('listEvents')).length).toBeGreaterThanOrEqual(7);
});
