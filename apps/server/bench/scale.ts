// `npm run bench:scale`: does a department's latency stay flat from 10,000 to 1,000,000 deals?
//
//   1. a fresh embedded PostgreSQL (or a scratch database on BENCH_DATABASE_URL), migrated;
//      a demo tenant whose first department is measured, and 100 other tenants;
//   2. 10,000 deals in the measured department and 10,000 spread over the other tenants'
//      200 departments (every 100th deal number of each), VACUUM ANALYZE;
//   3. the real server as a child process; p50/p99 of each request shape, one request at a
//      time over one keep-alive connection;
//   4. the rest: 1,000,000 deals in the department and 1,000,000 over the other tenants;
//      VACUUM ANALYZE (autovacuum does the same to a live table); the same measurements;
//   5. the table on stdout and in bench/results/scale-<timestamp>.md.
//
// Besides the measured department, a small tenant that only keeps 200 customers searches them
// by name while the other tenants' customers grow from ~40,000 to ~4,000,000: the trigram
// index of customer search is shared by all tenants, and a small tenant must not pay for the
// others' rows.
//
// Each deal has 2 customers (every 5,000th links a shared one instead of a new second),
// both links and its first step change, spread over 3 years, the department's steps and
// employees (a third unassigned); 1 % are named "Globex …". See bench/support/bulk-load.ts.
//
// Env: BENCH_SCALE_SAMPLES (400) measured requests per row, BENCH_SCALE_DEALS (1000000) deals
// in the measured department at the large size (10,000 at the small one),
// BENCH_SCALE_ROWS (unset: all) a comma-separated list of the row keys to measure (e.g.
// `contacts-q,customers-q`), BENCH_DATABASE_URL (unset: embedded).
import { loadavg } from 'node:os';
import type pg from 'pg';
import { type DemoTenant, seedDemoTenant } from '../src/admin/tenancy.ts';
import { basePath } from '../src/contract.ts';
import {
  createSharedCustomer,
  type DepartmentSpace,
  loadCustomers,
  loadDeals,
  loadTombstones,
  type Queryable,
  SEARCH_WORD,
} from './support/bulk-load.ts';
import { runBench } from './support/cleanup.ts';
import { type BenchDatabase, startBenchDatabase } from './support/database.ts';
import { positiveFromEnv } from './support/env.ts';
import { type LatencyResult, measureLatency } from './support/latency.ts';
import { type Child, rssMb, startServer } from './support/processes.ts';
import { fmt, machineLines, markdownTable, timestamp, writeResult } from './support/report.ts';

const largeSize = positiveFromEnv('BENCH_SCALE_DEALS', 1_000_000);
const samples = positiveFromEnv('BENCH_SCALE_SAMPLES', 400);
const warmup = Math.max(20, Math.round(samples / 10));
/** The small size is every 100th deal number of the large one. */
const SMALL_EVERY = 100;
const otherTenants = 100;
const chunk = 50_000;
const limit = 50;
const targetRatio = 1.5;
/** Customers of the small tenant that searches its contacts. */
const CONTACTS = 200;
/** A last name of 1 in 12 customers of every tenant (bench/support/bulk-load.ts). */
const CONTACT_SEARCH = 'miller';
const onlyRows = process.env.BENCH_SCALE_ROWS ? new Set(process.env.BENCH_SCALE_ROWS.split(',').map((r) => r.trim())) : undefined;
const small = `n % ${SMALL_EVERY} = 0`;
const rest = `n % ${SMALL_EVERY} <> 0`;
/** Row labels and notes of the report, by shape key (filled in by shapes()). */
const labels = new Map<string, string>();
const notes = new Map<string, string>();

const log = (message: string) => console.error(`[bench:scale] ${message}`);

type Shape = {
  key: string;
  label: string;
  path: () => string;
  headers?: Record<string, string>;
  check?: (body: string) => string | undefined;
};
/** The small tenant that searches its contacts, and how many customers the others hold at each size. */
type Contacts = { tenantId: string; headers: Record<string, string>; othersAtEachSize: number[] };
type Measured = Map<string, LatencyResult>;

runBench(async () => {
  const started = Date.now();
  const loadAtStart = loadavg();
  const database = await startBenchDatabase(log, 3);
  log(`database: ${database.version}, ${database.origin}`);
  const pool = database.db.pool;
  if (database.ownsCluster) {
    // Our own throwaway cluster: fewer checkpoints while loading. Changes nothing the queries see.
    await pool.query(`ALTER SYSTEM SET max_wal_size = '8GB'`);
    await pool.query(`ALTER SYSTEM SET checkpoint_timeout = '30min'`);
    await pool.query('SELECT pg_reload_conf()');
  }

  // ---- tenants -----------------------------------------------------------------------------
  let t0 = Date.now();
  const tenant = await seedDemoTenant(database.db.prisma);
  const others: DemoTenant[] = [];
  for (let i = 0; i < otherTenants; i++) others.push(await seedDemoTenant(database.db.prisma));
  const now = Date.now();
  const span = { from: new Date(now - 3 * 365 * 86_400_000), to: new Date(now - 86_400_000) };
  const department = tenant.departments[0]!;
  const measured: DepartmentSpace = {
    tenantId: tenant.tenant_id,
    departmentId: department.id,
    stepIds: department.steps.map((s) => s.id),
    employeeIds: department.employees.map((e) => e.id),
    size: largeSize,
    ...span,
    sharedCustomerId: await createSharedCustomer(pool, tenant.tenant_id, 'Initrode'),
  };
  const otherDepartments = others.flatMap((o) => o.departments.map((d) => ({ tenant: o, department: d })));
  const otherSpaces: DepartmentSpace[] = otherDepartments.map(({ tenant: o, department: d }) => ({
    tenantId: o.tenant_id,
    departmentId: d.id,
    stepIds: d.steps.map((s) => s.id),
    employeeIds: d.employees.map((e) => e.id),
    size: Math.round(largeSize / otherDepartments.length),
    ...span,
  }));
  const contactsTenant = await seedDemoTenant(database.db.prisma);
  await loadCustomers(pool, contactsTenant.tenant_id, CONTACTS, span);
  const contacts: Contacts = {
    tenantId: contactsTenant.tenant_id,
    headers: { 'x-api-key': contactsTenant.api_key, 'x-department-id': contactsTenant.departments[0]!.id },
    othersAtEachSize: [],
  };
  log(`seeded ${otherTenants + 2} tenants in ${fmt.seconds(Date.now() - t0)}`);

  // ---- small size ----------------------------------------------------------------------------
  t0 = Date.now();
  await loadAll(pool, [...splitRange(measured, small), ...otherSpaces.flatMap((s) => splitRange(s, small))]);
  await loadTombstones(pool, measured, Math.round(largeSize / SMALL_EVERY / 100));
  const smallLoadMs = Date.now() - t0;
  const smallCount = await dealCount(pool, measured);
  const smallAnalyzeMs = await vacuumAnalyze(pool);
  log(
    `small size: ${fmt.int(smallCount)} deals in the department, loaded in ${fmt.seconds(smallLoadMs)}, VACUUM ANALYZE ${fmt.seconds(smallAnalyzeMs)}`,
  );

  const server = await startServer(database.url, 10);
  const headers = { 'x-api-key': tenant.api_key, 'x-department-id': department.id };
  const smallResults = await measureAll(server, database, measured, headers, smallCount, contacts);

  // ---- large size ----------------------------------------------------------------------------
  t0 = Date.now();
  await loadAll(pool, [...splitRange(measured, rest), ...otherSpaces.flatMap((s) => splitRange(s, rest))]);
  await loadTombstones(pool, measured, Math.round((largeSize / 100) * (1 - 1 / SMALL_EVERY)));
  const largeLoadMs = Date.now() - t0;
  const largeCount = await dealCount(pool, measured);
  const largeAnalyzeMs = await vacuumAnalyze(pool);
  const sizes = await pool.query<{ deals: string; customers: string; db: string }>(
    `SELECT (SELECT count(*) FROM deals)::text AS deals, (SELECT count(*) FROM customers)::text AS customers,
            pg_size_pretty(pg_database_size(current_database())) AS db`,
  );
  const totals = sizes.rows[0]!;
  log(
    `large size: ${fmt.int(largeCount)} deals in the department (${fmt.int(Number(totals.deals))} in all, ` +
      `${fmt.int(Number(totals.customers))} customers, ${totals.db}), loaded in ${fmt.seconds(largeLoadMs)}, VACUUM ANALYZE ${fmt.seconds(largeAnalyzeMs)}`,
  );
  const largeResults = await measureAll(server, database, measured, headers, largeCount, contacts);
  const serverRss = rssMb(server.pid) ?? Number.NaN;

  // ---- report ----------------------------------------------------------------------------------
  const rows: string[][] = [];
  let failures = 0;
  let anyBad = false;
  for (const [key, s] of smallResults) {
    const l = largeResults.get(key)!;
    const r50 = l.p50Ms / s.p50Ms;
    const r99 = l.p99Ms / s.p99Ms;
    const bad = { ...s.badStatuses, ...l.badStatuses };
    if (Object.keys(bad).length) anyBad = true;
    const ok = r50 <= targetRatio && r99 <= targetRatio;
    if (!ok) failures++;
    rows.push([
      labels.get(key)!,
      fmt.ms(s.p50Ms),
      fmt.ms(s.p99Ms),
      fmt.ms(l.p50Ms),
      fmt.ms(l.p99Ms),
      fmt.ratio(r50),
      fmt.ratio(r99),
      Object.keys(bad).length ? `**${JSON.stringify(bad)}**` : ok ? 'PASS' : '**FAIL**',
    ]);
  }
  const table = markdownTable(
    [
      'request',
      `p50 ms @ ${fmt.int(smallCount)}`,
      `p99 ms @ ${fmt.int(smallCount)}`,
      `p50 ms @ ${fmt.int(largeCount)}`,
      `p99 ms @ ${fmt.int(largeCount)}`,
      'p50 ratio',
      'p99 ratio',
      `≤ ${targetRatio}×`,
    ],
    rows,
  );
  const stamp = timestamp();
  const totalMs = Date.now() - started;
  const timing = [
    `- loading: ${fmt.seconds(smallLoadMs)} for the small size, ${fmt.seconds(largeLoadMs)} to grow to the large size ` +
      `(${fmt.int(Number(totals.deals))} deals and ${fmt.int(Number(totals.customers))} customers in all, database ${totals.db}); ` +
      `VACUUM ANALYZE ${fmt.seconds(smallAnalyzeMs)} + ${fmt.seconds(largeAnalyzeMs)}`,
    `- server RSS after the run: ${fmt.mb(serverRss)}`,
    `- total run time: ${fmt.seconds(totalMs)}`,
  ];
  const report = [
    `# Deals API latency at ${fmt.int(smallCount)} vs ${fmt.int(largeCount)} deals in one department — ${stamp}`,
    '',
    `Through the real server over HTTP, one request at a time on one keep-alive connection; ${samples} measured requests`,
    `per row after ${warmup} warm-up requests; limit=${limit} for lists. Target: the large size within ${targetRatio}× of the small one.`,
    '',
    table,
    '',
    ...timing,
    ...(anyBad ? ['', '**SOME REQUESTS DID NOT ANSWER 200 (see the last column): those rows are not valid.**'] : []),
    '',
    '## Rows',
    ...[...notes.entries()].map(([key, note]) => `- ${labels.get(key)}: ${note}`),
    '',
    '## Machine',
    ...machineLines(database.version, database.origin, loadAtStart),
    '',
  ].join('\n');
  const path = await writeResult(`scale-${stamp}.md`, report);
  console.log(`\n${table}\n\n${timing.join('\n')}`);
  if (anyBad) {
    console.log('\n!!! SOME REQUESTS DID NOT ANSWER 200 — see the last column !!!');
    process.exitCode = 1;
  }
  console.log(`${failures} of ${rows.length} rows above ${targetRatio}×\nreport: ${path}`);
});

/** The request shapes measured at each size, with what they read. */
async function shapes(
  database: BenchDatabase,
  space: DepartmentSpace,
  headers: Record<string, string>,
  server: Child,
  count: number,
  contacts: Contacts,
): Promise<Shape[]> {
  const pool = database.db.pool;
  const t = space.tenantId;
  const d = space.departmentId;
  const deals = `${basePath}/deals?limit=${limit}`;
  const fullPage = (body: string) => {
    const page = JSON.parse(body) as { data: unknown[] };
    return page.data.length === limit ? undefined : `expected a full page of ${limit}, got ${page.data.length}`;
  };
  // Filters match fewer rows when BENCH_SCALE_DEALS is small; a page must not be empty.
  const someRows = (body: string) =>
    (JSON.parse(body) as { data: unknown[] }).data.length > 0 ? undefined : 'expected deals, got an empty page';

  // Cursors are opaque and fingerprinted with the query (src/data/pagination.ts). Walking
  // 18,000 pages to reach depth 900,000 would take minutes, so the bench takes a real
  // next_cursor of this query (which carries the query's fingerprint) and moves its position
  // to the row at that depth, read from the database: the very cursor the server would have
  // issued for the page ending there. The check below proves the server honours it.
  const depth = Math.round(count * 0.9);
  const { rows: around } = await pool.query<{ k: string; id: string }>(
    `SELECT api_timestamp(created_at) AS k, id::text FROM deals WHERE tenant_id = $1 AND department_id = $2
     ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT 2`,
    [t, d, depth - 1],
  );
  const first = await fetch(`${server.origin}${deals}`, { headers }).then((r) => r.json() as Promise<{ next_cursor: string }>);
  const real = JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  const deepCursor = Buffer.from(JSON.stringify({ ...real, k: around[0]!.k, i: around[0]!.id })).toString('base64url');
  const expectedFirst = around[1]!.id;

  const { rows: ids } = await pool.query<{ id: string }>(
    'SELECT id::text FROM deals WHERE tenant_id = $1 AND department_id = $2 ORDER BY random() LIMIT 1000',
    [t, d],
  );
  let nextId = 0;
  const sinceRecent = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const sinceSync = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const { rows: customerCounts } = await pool.query<{ others: number }>(
    'SELECT count(*)::int AS others FROM customers WHERE tenant_id <> $1',
    [contacts.tenantId],
  );
  contacts.othersAtEachSize.push(customerCounts[0]!.others);
  // A customer of the measured tenant found by its email: one per department at most, so the
  // search walks the tenant's newest 10,000 customers without filling a page, then asks the
  // trigram index.
  const rareEmail = `c${SMALL_EVERY * 37}.a@example.com`;

  const list: (Shape & { note: string })[] = [
    { key: 'first', label: 'listDeals first page', path: () => deals, check: fullPage, note: `\`?limit=${limit}\` (sort -created_at)` },
    {
      key: 'deep',
      label: 'listDeals page 90 % deep (cursor)',
      path: () => `${deals}&cursor=${deepCursor}`,
      check: (body) => {
        const page = JSON.parse(body) as { data: { id: string }[] };
        return page.data[0]?.id === expectedFirst ? fullPage(body) : `the deep cursor did not start at deal ${expectedFirst}`;
      },
      note: 'a cursor positioned after row 9,000 of 10,000 / 900,000 of 1,000,000 (see the comment in bench/scale.ts on how it is made)',
    },
    {
      key: 'step',
      label: 'listDeals step_id',
      path: () => `${deals}&step_id=${space.stepIds[1]}`,
      check: someRows,
      note: `one of ${space.stepIds.length} steps (~${Math.round(100 / space.stepIds.length)} % of the deals)`,
    },
    {
      key: 'employee',
      label: 'listDeals employee_id',
      path: () => `${deals}&employee_id=${space.employeeIds[0]}`,
      check: someRows,
      note: `one of ${space.employeeIds.length} employees (~${Math.round(100 / (space.employeeIds.length + 1))} %)`,
    },
    {
      key: 'unassigned',
      label: 'listDeals employee_id=unassigned',
      path: () => `${deals}&employee_id=unassigned`,
      check: someRows,
      note: `deals without an employee (~${Math.round(100 / (space.employeeIds.length + 1))} %)`,
    },
    {
      key: 'customer',
      label: 'listDeals customer_id',
      path: () => `${deals}&customer_id=${space.sharedCustomerId}`,
      check: someRows,
      note: 'a customer linked to every 5,000th deal number: 200 deals at both sizes',
    },
    {
      key: 'q',
      label: `listDeals q=${SEARCH_WORD.toLowerCase()}`,
      path: () => `${deals}&q=${SEARCH_WORD.toLowerCase()}`,
      check: someRows,
      note: `name search matching 1 % of the deals (trigram index)`,
    },
    {
      key: 'since',
      label: 'listDeals updated_since (7 days)',
      path: () => `${deals}&updated_since=${sinceRecent}`,
      check: someRows,
      note: 'default sort, deals updated in the last 7 days: their number grows with the table (~0.25 % of it)',
    },
    {
      key: 'sync',
      label: 'listDeals incremental sync',
      path: () => `${deals}&sort=updated_at&include_deleted=true&updated_since=${sinceSync}`,
      check: someRows,
      note: "`sort=updated_at&include_deleted=true&updated_since=<30 days ago>`, the contract's sync query, with tombstones of 1 % deleted deals",
    },
    {
      key: 'get',
      label: 'getDeal',
      path: () => `${basePath}/deals/${ids[nextId++ % ids.length]!.id}`,
      note: '1,000 random deals of the department in turn',
    },
    {
      key: 'customers-q',
      label: 'listCustomers q=<an email>',
      path: () => `${basePath}/customers?limit=${limit}&q=${rareEmail}`,
      check: someRows,
      note: `the measured tenant (2 customers per deal) searching \`${rareEmail}\`, which at most one customer per department carries`,
    },
    {
      key: 'contacts-q',
      label: `listCustomers q=${CONTACT_SEARCH}, small tenant`,
      path: () => `${basePath}/customers?limit=${limit}&q=${CONTACT_SEARCH}`,
      headers: contacts.headers,
      check: someRows,
      note:
        `a tenant with ${CONTACTS} customers of its own searching a last name that 1 in 12 of every tenant's customers carry, ` +
        `while the other tenants hold ${contacts.othersAtEachSize.map(fmt.int).join(' / ')} customers`,
    },
  ];
  for (const s of list) {
    labels.set(s.key, s.label);
    notes.set(s.key, s.note);
  }
  return list;
}

async function measureAll(
  server: Child,
  database: BenchDatabase,
  space: DepartmentSpace,
  headers: Record<string, string>,
  count: number,
  contacts: Contacts,
): Promise<Measured> {
  const results: Measured = new Map();
  for (const shape of await shapes(database, space, headers, server, count, contacts)) {
    if (onlyRows && !onlyRows.has(shape.key)) continue;
    const r = await measureLatency(server.origin, shape.path, shape.headers ?? headers, {
      warmup,
      samples,
      ...(shape.check ? { check: shape.check } : {}),
    });
    const bad = Object.keys(r.badStatuses).length ? `  !!! non-200: ${JSON.stringify(r.badStatuses)}` : '';
    log(
      `${fmt.int(count).padStart(9)} deals  ${shape.label.padEnd(36)} p50 ${fmt.ms(r.p50Ms).padStart(6)} ms  p99 ${fmt.ms(r.p99Ms).padStart(6)} ms${bad}`,
    );
    results.set(shape.key, r);
  }
  return results;
}

type Job = { space: DepartmentSpace; first: number; last: number; where: string };

/** The department's numbers 1..size in chunks, each loading the numbers for which `where` holds. */
function splitRange(space: DepartmentSpace, where: string): Job[] {
  const jobs: Job[] = [];
  for (let first = 1; first <= space.size; first += chunk)
    jobs.push({ space, first, last: Math.min(space.size, first + chunk - 1), where });
  return jobs;
}

/** Two loaders in parallel (two cores), each one statement per job. */
async function loadAll(pool: pg.Pool, jobs: Job[]): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  let loaded = 0;
  let lastLog = Date.now();
  const everyHundredth = (j: Job) => Math.floor(j.last / SMALL_EVERY) - Math.floor((j.first - 1) / SMALL_EVERY);
  const expected = jobs.reduce((n, j) => n + (j.where === small ? everyHundredth(j) : j.last - j.first + 1 - everyHundredth(j)), 0);
  const worker = async () => {
    const client = await pool.connect();
    try {
      for (let job = jobs[next++]; job; job = jobs[next++]) {
        // Not `loaded += await …`: that reads `loaded` before the await and loses the other loader's count.
        const n = await loadDeals(client, job.space, job);
        loaded += n;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          log(`  ${fmt.int(loaded)} of ${fmt.int(expected)} deals loaded in ${fmt.seconds(Date.now() - t0)}`);
        }
      }
    } finally {
      client.release();
    }
  };
  await Promise.all([worker(), worker()]);
}

async function dealCount(pool: Queryable, space: DepartmentSpace): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM deals WHERE tenant_id = $1 AND department_id = $2', [
    space.tenantId,
    space.departmentId,
  ]);
  return rows[0].n as number;
}

async function vacuumAnalyze(pool: Queryable): Promise<number> {
  const t0 = Date.now();
  await pool.query('VACUUM (ANALYZE) deals, customers, deal_customers, deal_step_changes, deal_tombstones');
  return Date.now() - t0;
}
