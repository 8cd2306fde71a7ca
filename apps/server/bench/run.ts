// `npm run bench`: throughput of the real server against a bare node:http + pg baseline doing
// the same work in one round trip (bench/baseline-server.ts), on the same fresh database.
//
//   1. a fresh embedded PostgreSQL in a temp dir (or a scratch database on BENCH_DATABASE_URL),
//      migrated, with a demo tenant;
//   2. the real server (`node --import tsx src/main.ts`, as `npm start` runs it) and the
//      baseline, each a child process with the same pool size;
//   3. a check that both answer every workload with the same documents;
//   4. autocannon, 16 connections: per run and workload, the server and the baseline one after
//      the other (alternating who goes first), each after a short warm-up; medians of the runs;
//      per run also what PostgreSQL spent per request (CPU, WAL, full-page images), which tells a
//      request that got dearer from a machine that got busier;
//   5. webhook delivery (bench/webhooks.ts): throughput to a local receiver and event-to-delivery
//      lag at a steady rate, through a fresh server process with its delivery worker;
//   6. a markdown report and a PNG chart in bench/results/, the table on stdout.
//
// Env: BENCH_DURATION_S (8) seconds per measured run, BENCH_RUNS (3), BENCH_CONNECTIONS (16),
// BENCH_POOL_MAX (10), BENCH_DATABASE_URL (unset: embedded), CHROMIUM_PATH; for the webhook
// part BENCH_WEBHOOK_EVENTS (20000), BENCH_WEBHOOK_RATE (200), BENCH_WEBHOOK_LAG_S (20).

import { loadavg } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { seedDemoTenant } from '../src/admin/tenancy.ts';
import { basePath, requestExample } from '../src/contract.ts';
import { uuidv7 } from '../src/ids.ts';
import { barChartSvg, stackSvgs, svgToPng } from './support/chart.ts';
import { runBench } from './support/cleanup.ts';
import { startBenchDatabase } from './support/database.ts';
import { type DbActivityPerRequest, dbActivity, perRequest, postmasterPid } from './support/db-activity.ts';
import { positiveFromEnv } from './support/env.ts';
import { type LoadResult, type LoadSpec, runLoad } from './support/load.ts';
import { type Child, rssMb, sampleRss, startBaseline, startServer } from './support/processes.ts';
import { fmt, machineLines, markdownTable, median, timestamp, writeResult } from './support/report.ts';
import { type WebhookBenchResult, webhookBench, webhookChart, webhookMarkdown, webhookRunValid, webhookVerdicts } from './webhooks.ts';

const durationS = positiveFromEnv('BENCH_DURATION_S', 8);
const runs = positiveFromEnv('BENCH_RUNS', 3);
const connections = positiveFromEnv('BENCH_CONNECTIONS', 16);
const poolMax = positiveFromEnv('BENCH_POOL_MAX', 10);
const warmupS = Math.min(2, Math.max(1, Math.round(durationS / 4)));
const preloadDeals = 2_000;
const rssTargetMb = 200;

const log = (message: string) => console.error(`[bench] ${message}`);

/** The request body of the reference page, as the contract's `reference` example states it. */
const referenceBody = JSON.stringify(requestExample('/deals', 'post', 'reference'));

type Workload = { key: string; label: string; spec: LoadSpec; status: number; target?: number };

type Cell = { runs: LoadResult[]; db: DbActivityPerRequest[]; warmupBad: number };

runBench(async () => {
  const started = Date.now();
  const loadAtStart = loadavg();
  log(`${runs} runs × 4 workloads × 2 implementations, ${durationS} s each after ${warmupS} s warm-up, ${connections} connections`);

  const database = await startBenchDatabase(log);
  log(`database: ${database.version}, ${database.origin}`);
  const demo = await seedDemoTenant(database.db.prisma);
  const department = demo.departments[0]!;
  const auth = { 'x-api-key': demo.api_key, 'x-department-id': department.id };

  const server = await startServer(database.url, poolMax);
  const baseline = await startBaseline(database.url, poolMax);
  const idleRss = rssMb(server.pid) ?? Number.NaN;
  log(`server pid ${server.pid} (RSS ${fmt.mb(idleRss)} idle), baseline pid ${baseline.pid}`);

  await preload(server, auth, preloadDeals);
  const { rows } = await database.db.pool.query<{ id: string }>(
    'SELECT id::text FROM deals WHERE tenant_id = $1 AND department_id = $2 ORDER BY random() LIMIT $3',
    [demo.tenant_id, department.id, preloadDeals],
  );
  const dealIds = rows.map((r) => r.id);
  let next = 0;

  const post = { ...auth, 'content-type': 'application/json' };
  const workloads: Workload[] = [
    // Issue #7: with its events (customer.created ×2, deal.created) in the same statement, and
    // the baseline appending the same event rows.
    {
      key: 'create',
      label: 'createDeal',
      status: 201,
      target: 0.6,
      spec: { method: 'POST', path: `${basePath}/deals`, headers: post, body: referenceBody },
    },
    // A fresh key per request, time-ordered (UUIDv7) as @deals/client makes them. Random UUIDv4
    // keys cost little more on this bench's young table, but twice the WAL per request once the
    // table holds a day of keys: see bench/idempotency-keys.ts (issue #8).
    {
      key: 'create-idem',
      label: 'createDeal + Idempotency-Key v7',
      status: 201,
      target: 0.5,
      spec: {
        method: 'POST',
        path: `${basePath}/deals`,
        headers: post,
        body: referenceBody,
        perRequestHeaders: () => ({ 'idempotency-key': uuidv7() }),
      },
    },
    {
      key: 'list',
      label: 'listDeals ?limit=50',
      status: 200,
      target: 0.5,
      spec: { method: 'GET', path: `${basePath}/deals?limit=50`, headers: auth },
    },
    {
      key: 'get',
      label: 'getDeal',
      status: 200,
      spec: { method: 'GET', path: () => `${basePath}/deals/${dealIds[next++ % dealIds.length]}`, headers: auth },
    },
  ];

  await checkSameDocuments(server, baseline, auth, dealIds[0]!, database.db.pool, demo.tenant_id);
  log('server and baseline answer with the same documents and append the same events');

  const results = new Map<string, Cell>();
  const cell = (w: Workload, c: Child) => {
    const k = `${w.key}/${c.name}`;
    if (!results.has(k)) results.set(k, { runs: [], db: [], warmupBad: 0 });
    return results.get(k)!;
  };
  const postmaster = await postmasterPid(database.db.pool);
  const serverRss = sampleRss(server.pid);
  const baselineRss = sampleRss(baseline.pid);
  for (let run = 1; run <= runs; run++) {
    for (const w of workloads) {
      const order = run % 2 === 1 ? [server, baseline] : [baseline, server];
      for (const target of order) {
        const warm = await runLoad(target.origin, w.spec, warmupS, connections);
        cell(w, target).warmupBad += warm.non2xx + warm.errors;
        const before = await dbActivity(database.db.pool, postmaster);
        const r = await runLoad(target.origin, w.spec, durationS, connections);
        const db = perRequest(before, await dbActivity(database.db.pool, postmaster), r.ok);
        cell(w, target).runs.push(r);
        cell(w, target).db.push(db);
        const bad = r.non2xx + r.errors;
        log(
          `run ${run}/${runs} ${w.label.padEnd(31)} ${target.name.padEnd(8)} ${fmt.int(r.rps).padStart(6)} req/s  p99 ${fmt.ms(r.p99Ms)} ms` +
            `  | per request: PostgreSQL CPU ${fmt.ms(db.cpuMs)} ms` +
            (w.spec.method === 'POST' ? `, WAL ${db.walKb.toFixed(1)} kB, ${db.fpi.toFixed(2)} full-page images` : '') +
            (db.checkpoints ? `  (${db.checkpoints} checkpoint${db.checkpoints > 1 ? 's' : ''} during the run)` : '') +
            (bad ? `  !!! ${r.non2xx} non-2xx ${JSON.stringify(r.badStatuses)}, ${r.errors} errors` : ''),
        );
      }
    }
  }
  const rssMax = serverRss.stop();
  const baselineRssMax = baselineRss.stop();
  await server.stop();
  await baseline.stop();

  // ---- webhook delivery: a fresh server process, nothing else running ------------------------
  let webhooks: WebhookBenchResult | undefined;
  let webhookError: string | undefined;
  try {
    webhooks = await webhookBench(database, poolMax, log);
  } catch (error) {
    webhookError = (error as Error).message;
    log(`!!! the webhook bench failed: ${webhookError}`);
  }

  // ---- report ----------------------------------------------------------------------------------
  const tableRows: string[][] = [];
  const verdicts: string[] = [];
  const chartGroups = [];
  let anyBad = false;
  for (const w of workloads) {
    const s = cell(w, server);
    const b = cell(w, baseline);
    const sRps = median(s.runs.map((r) => r.rps));
    const bRps = median(b.runs.map((r) => r.rps));
    const ratio = sRps / bRps;
    for (const [name, c] of [
      ['server', s],
      ['baseline', b],
    ] as const) {
      const non2xx = c.runs.reduce((n, r) => n + r.non2xx, 0);
      const errors = c.runs.reduce((n, r) => n + r.errors, 0);
      const statuses: Record<string, number> = {};
      for (const r of c.runs) for (const [code, n] of Object.entries(r.badStatuses)) statuses[code] = (statuses[code] ?? 0) + n;
      if (non2xx + errors + c.warmupBad > 0) anyBad = true;
      tableRows.push([
        w.label,
        name,
        fmt.int(median(c.runs.map((r) => r.rps))),
        fmt.ms(median(c.runs.map((r) => r.p50Ms))),
        fmt.ms(median(c.runs.map((r) => r.p99Ms))),
        name === 'server' ? fmt.ratio(ratio) : '',
        non2xx ? `**${non2xx}** ${JSON.stringify(statuses)}` : '0',
        errors ? `**${errors}**` : '0',
        c.runs.map((r) => fmt.int(r.rps)).join(' / '),
        fmt.ms(median(c.db.map((d) => d.cpuMs))),
        w.spec.method === 'POST' ? median(c.db.map((d) => d.walKb)).toFixed(1) : '',
        w.spec.method === 'POST' ? c.db.map((d) => d.fpi.toFixed(2)).join(' / ') : '',
      ]);
    }
    if (w.target !== undefined) {
      verdicts.push(`- ${w.label}: ${fmt.ratio(ratio)} of baseline (target ≥ ${w.target}×) — ${ratio >= w.target ? 'PASS' : '**FAIL**'}`);
    }
    chartGroups.push({ label: w.label, server: sRps, baseline: bRps, ...(w.target === undefined ? {} : { target: w.target }) });
  }
  verdicts.push(
    `- server RSS max under load: ${fmt.mb(rssMax)} (target ≤ ${rssTargetMb} MB) — ${rssMax <= rssTargetMb ? 'PASS' : '**FAIL**'}`,
  );
  const checkpoints = [...results.values()].reduce((n, c) => n + c.db.reduce((m, d) => m + d.checkpoints, 0), 0);

  const table = markdownTable(
    [
      'workload',
      'implementation',
      'req/s (median)',
      'p50 ms',
      'p99 ms',
      'server/baseline',
      'non-2xx',
      'errors',
      'req/s per run',
      'PostgreSQL CPU ms/req',
      'WAL kB/req',
      'WAL full-page images/req per run',
    ],
    tableRows,
  );
  const stamp = timestamp();
  const elapsed = Date.now() - started;
  const report = [
    `# Deals API throughput — ${stamp}`,
    '',
    `autocannon, ${connections} connections, ${runs} runs of ${durationS} s per workload and implementation (each after ${warmupS} s of warm-up),`,
    `server and baseline interleaved; medians of the runs. Pool size ${poolMax} for both. Total run time ${fmt.seconds(elapsed)}.`,
    '',
    table,
    '',
    ...verdicts,
    `- server RSS idle after start: ${fmt.mb(idleRss)}; baseline RSS max: ${fmt.mb(baselineRssMax)}`,
    `- PostgreSQL checkpoints completed during measured runs: ${checkpoints}`,
    ...(anyBad ? ['', '**NON-2XX RESPONSES OR ERRORS OCCURRED (see the table): the numbers above are not a valid comparison.**'] : []),
    '',
    ...(webhooks ? webhookMarkdown(webhooks) : ['## Webhook delivery', '', `**The webhook bench failed:** ${webhookError}`]),
    '',
    '## Machine',
    ...machineLines(database.version, database.origin, loadAtStart),
    '',
    "Workloads: createDeal = the reference page's body (deal + 2 customers); with Idempotency-Key v7 = a fresh UUIDv7 key per",
    `request, as @deals/client sends; listDeals = first page of 50 with customers (${preloadDeals}+ deals in the department); getDeal = existing ids in turn.`,
    'Per request, from PostgreSQL during each measured run: the CPU time of all its processes (it varies less than req/s',
    'when other work shares the machine), WAL kB and WAL full-page images (pg_stat_wal).',
    'The baseline is bench/baseline-server.ts: node:http + pg, one SQL statement per request, JSON built by PostgreSQL.',
    '',
  ].join('\n');

  const mdPath = await writeResult(`${stamp}.md`, report);
  const throughputSvg = barChartSvg(
    'Deals API: server vs bare baseline',
    `${connections} connections, median of ${runs} × ${durationS} s, ${database.version}, ${process.version}`,
    chartGroups,
  );
  const svg = webhooks
    ? stackSvgs([
        throughputSvg,
        webhookChart(webhooks, `real server with its worker → receiver on 127.0.0.1, ${database.version}, ${process.version}`),
      ])
    : throughputSvg;
  const { png, reason } = await svgToPng(svg);
  const chartPath = png ? await writeResult(`${stamp}.png`, png) : await writeResult(`${stamp}.svg`, svg);
  if (!png) log(`chart written as SVG only: ${reason}`);

  console.log(`\n${table}\n\n${verdicts.join('\n')}\n- server RSS idle: ${fmt.mb(idleRss)}; baseline RSS max: ${fmt.mb(baselineRssMax)}`);
  console.log(webhooks ? webhookVerdicts(webhooks).join('\n') : `!!! the webhook bench failed: ${webhookError}`);
  if (anyBad) {
    console.log('\n!!! NON-2XX RESPONSES OR ERRORS OCCURRED — see the non-2xx and errors columns !!!');
    process.exitCode = 1;
  }
  if (!webhooks || !webhookRunValid(webhooks)) {
    console.log('\n!!! THE WEBHOOK PART FAILED OR LOST DELIVERIES — see the report !!!');
    process.exitCode = 1;
  }
  console.log(`\nreport: ${mdPath}\nchart:  ${chartPath}\ntotal:  ${fmt.seconds(Date.now() - started)}`);
});

/** The department gets `count` deals through the real API, so pages are full and ids exist. */
async function preload(server: Child, auth: Record<string, string>, count: number): Promise<void> {
  const t0 = Date.now();
  let created = 0;
  const worker = async () => {
    while (created < count) {
      created++;
      const res = await fetch(`${server.origin}${basePath}/deals`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: referenceBody,
      });
      if (res.status !== 201) throw new Error(`preload: createDeal answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  log(`preloaded ${count} deals through the server in ${fmt.seconds(Date.now() - t0)}`);
}

/**
 * Before measuring, both implementations must answer each workload with the same status and
 * the same document (ids and timestamps aside), and createDeal must append the same event rows
 * (issue #7), or the comparison would be meaningless.
 */
async function checkSameDocuments(
  server: Child,
  baseline: Child,
  auth: Record<string, string>,
  dealId: string,
  pool: pg.Pool,
  tenantId: string,
): Promise<void> {
  const call = async (c: Child, method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${c.origin}${basePath}${path}`, {
      method,
      headers: { ...auth, ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: referenceBody } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const shape = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(shape)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
        : typeof v;
  const fail = (what: string, s: unknown, b: unknown) => {
    throw new Error(
      `server and baseline differ on ${what}:\nserver:   ${JSON.stringify(s)}\nbaseline: ${JSON.stringify(b)}\n` +
        `server output:\n${server.output().slice(-3000)}\nbaseline output:\n${baseline.output().slice(-3000)}`,
    );
  };
  // A created deal's events, in feed order, with what must be equal between the two written
  // as values (ids, times and the request id as their types); each payload's object must be
  // the response document itself.
  const eventsOf = async (created: Record<string, unknown>, who: string) => {
    const ids = [created.id, ...(created.customers as { id: string }[]).map((c) => c.id)];
    const { rows } = await pool.query<{ txid: string; type: string; payload: string } & Record<string, unknown>>(
      `SELECT txid::text, type, department_id::text, resource_id::text, resource_version, request_id, api_key_id::text,
              api_timestamp(occurred_at) AS occurred_at, payload
       FROM events WHERE tenant_id = $1 AND resource_id = ANY ($2::uuid[]) ORDER BY txid, id`,
      [tenantId, ids],
    );
    const customers = created.customers as Record<string, unknown>[];
    const problems: string[] = [];
    if (new Set(rows.map((r) => r.txid)).size !== 1) problems.push('the events are not all of one transaction');
    const rowsView = rows.map((r) => {
      const payload = JSON.parse(r.payload) as { id: string; timestamp: string; data: { object: Record<string, unknown> } };
      const expected = r.type === 'deal.created' ? created : customers.find((c) => c.id === r.resource_id);
      if (!isDeepStrictEqual(payload.data.object, expected)) problems.push(`the ${r.type} object is not the response's`);
      if (payload.timestamp !== r.occurred_at) problems.push(`the ${r.type} timestamp is not occurred_at`);
      return {
        type: r.type,
        department_id: r.department_id,
        resource_version: r.resource_version,
        api_key_id: r.api_key_id,
        request_id: typeof r.request_id,
        // Key order matters too: the payload is stored and signed as text.
        payload: JSON.stringify(shape(payload)),
      };
    });
    if (problems.length) throw new Error(`${who}'s createDeal events: ${problems.join('; ')}:\n${JSON.stringify(rows, null, 1)}`);
    return rowsView;
  };
  for (const headers of [{}, { 'idempotency-key': uuidv7() }] as Record<string, string>[]) {
    const s = await call(server, 'POST', '/deals', headers);
    const b = await call(baseline, 'POST', '/deals', headers);
    if (s.status !== 201 || b.status !== 201) fail('createDeal status', s, b);
    if (!isDeepStrictEqual(shape(s.json), shape(b.json))) fail('the createDeal document', s.json, b.json);
    const sEvents = await eventsOf(s.json, 'the server');
    const bEvents = await eventsOf(b.json, 'the baseline');
    if (sEvents.length !== 1 + (s.json.customers as unknown[]).length) fail('the number of createDeal events', sEvents, bEvents);
    if (!isDeepStrictEqual(sEvents, bEvents)) fail('the createDeal events', sEvents, bEvents);
  }
  const sList = await call(server, 'GET', '/deals?limit=50');
  const bList = await call(baseline, 'GET', '/deals?limit=50');
  if (sList.status !== 200 || bList.status !== 200) fail('listDeals status', sList, bList);
  if ((sList.json.data as unknown[]).length !== 50) fail('listDeals page size', sList.json, bList.json);
  if (!isDeepStrictEqual(sList.json.data, bList.json.data)) fail('the listDeals page', sList.json.data, bList.json.data);
  const sGet = await call(server, 'GET', `/deals/${dealId}`);
  const bGet = await call(baseline, 'GET', `/deals/${dealId}`);
  if (sGet.status !== 200 || !isDeepStrictEqual(sGet.json, bGet.json)) fail('getDeal', sGet, bGet);
}
