// Webhook delivery bench (issue #7): the real server process (`npm start`'s command, its
// delivery worker inside, WEBHOOK_ALLOW_PRIVATE_NETWORKS=true) delivering to a receiver on
// 127.0.0.1 in this process (support/receiver.ts: answers 200 at once, notes when each
// delivery arrived; signatures are verified with `standardwebhooks` after the measurement).
//
//   (a) throughput: BENCH_WEBHOOK_EVENTS (20,000) events inserted with SQL in batches of 1,000
//       (copies of one real customer.created payload with fresh event ids: this prices the
//       delivery pipeline alone, not the writes), one endpoint subscribed to '*';
//       deliveries/s from the first delivery received to the last. Goal ≥ 1,000/s. Waits at
//       most BENCH_WEBHOOK_WAIT_S (180) s for them: a slow pipeline is measured on what arrived.
//   (b) lag: BENCH_WEBHOOK_RATE (200) writes/s through the API for BENCH_WEBHOOK_LAG_S (20) s,
//       each making exactly one event (createCustomer and updateDeal in turn), three endpoints
//       subscribed to '*'; per delivery, receive time − the write's response time (the event
//       committed just before the response was sent). Goal p99 < 1 s.
//
// `npm run bench` runs this after its throughput part, into the same report and chart;
// `npm run bench:webhooks` runs it alone (its own database, report webhooks-<timestamp>.md).
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { seedDemoTenant } from '../src/admin/tenancy.ts';
import { basePath, requestExample } from '../src/contract.ts';
import { svgToPng, webhookChartSvg } from './support/chart.ts';
import { runBench } from './support/cleanup.ts';
import { type BenchDatabase, startBenchDatabase } from './support/database.ts';
import { positiveFromEnv } from './support/env.ts';
import { call, expectJson, keepAliveAgent, type Reply } from './support/http-client.ts';
import { startServer } from './support/processes.ts';
import { counts, type DeliveryCounts, type Received, startReceiver, verifyAll, type WaitEnd } from './support/receiver.ts';
import { fmt, machineLines, markdownTable, percentile, timestamp, writeResult } from './support/report.ts';

export const throughputGoal = 1_000;
export const lagGoalMs = 1_000;

export type ThroughputResult = {
  events: number;
  insertMs: number;
  /** missing: not received when the wait ended (`waitEnd`: all came, none came for 30 s, or the deadline). */
  delivery: DeliveryCounts & { missing: number; badSignatures: number };
  waitEnd: WaitEnd;
  waitS: number;
  /** Deliveries per second from the first delivery received to the last. */
  perSecond: number;
  spanMs: number;
  /** From the first batch's commit to the last delivery. */
  endToEndMs: number;
  statuses: Record<string, number>;
};

export type LagResult = {
  endpoints: number;
  writes: number;
  failedWrites: Record<string, number>;
  /** Writes per second actually achieved (first sent → last answered). */
  rate: number;
  writeP50Ms: number;
  writeP99Ms: number;
  delivery: DeliveryCounts & { missing: number; badSignatures: number; expected: number };
  /** How the wait for each endpoint's deliveries ended. */
  waitEnds: WaitEnd[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The bench process's own event-loop delay during the phase: it adds to the measured lag. */
  loopDelayP99Ms: number;
  statuses: Record<string, number>;
};

export type WebhookBenchResult = { throughput: ThroughputResult; lag: LagResult; loadAtStart: number[]; elapsedMs: number };

type Log = (message: string) => void;
type Auth = Record<string, string>;
type Endpoint = { id: string; secret: string; path: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stallMs = 30_000;

export function webhookSettings() {
  return {
    events: positiveFromEnv('BENCH_WEBHOOK_EVENTS', 20_000),
    rate: positiveFromEnv('BENCH_WEBHOOK_RATE', 200),
    lagSeconds: positiveFromEnv('BENCH_WEBHOOK_LAG_S', 20),
    waitSeconds: positiveFromEnv('BENCH_WEBHOOK_WAIT_S', 180),
    endpoints: 3,
  };
}

export async function webhookBench(database: BenchDatabase, poolMax: number, log: Log): Promise<WebhookBenchResult> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const settings = webhookSettings();
  const server = await startServer(database.url, poolMax, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  const receiver = await startReceiver();
  const agent = keepAliveAgent();
  log(`webhooks: server pid ${server.pid} (worker inside), receiver ${receiver.origin}`);
  try {
    const api = (method: string, path: string, auth: Auth, body?: unknown) =>
      call(agent, server.origin, method, `${basePath}${path}`, auth, body);
    const createEndpoint = async (auth: Auth, path: string): Promise<Endpoint> => {
      const reply = await api('POST', '/webhook-endpoints', auth, {
        url: `${receiver.origin}${path}`,
        enabled_events: ['*'],
        description: `bench ${path}`,
      });
      const { id, secret } = expectJson<{ id: string; secret: string }>(reply, 201, 'createWebhookEndpoint');
      return { id, secret, path };
    };
    const deliveryStatuses = async (endpointIds: string[]) => {
      const { rows } = await database.db.pool.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = ANY ($1::uuid[]) GROUP BY status ORDER BY status',
        [endpointIds],
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    };
    const dispatchCaughtUp = () => waitForDispatch(database, log);

    // ---- (a) throughput ----------------------------------------------------------------------
    const a = await seedDemoTenant(database.db.prisma);
    const authA = { 'x-api-key': a.api_key, 'x-department-id': a.departments[0]!.id };
    const customer = expectJson<{ id: string }>(
      await api('POST', '/customers', authA, requestExample('/customers', 'post', 'full')),
      201,
      'createCustomer',
    );
    await dispatchCaughtUp();
    const sink = await createEndpoint(authA, '/hooks/throughput');
    log(`webhooks (a): inserting ${fmt.int(settings.events)} events with SQL, one endpoint '*'`);
    const ids = new Set<string>();
    const insertStart = performance.now();
    let firstCommit = Number.NaN;
    for (let done = 0; done < settings.events; ) {
      const n = Math.min(1_000, settings.events - done);
      const { rows } = await database.db.pool.query<{ id: string }>(insertEventsSql, [a.tenant_id, customer.id, n]);
      if (Number.isNaN(firstCommit)) firstCommit = performance.now();
      for (const r of rows) ids.add(r.id);
      done += n;
    }
    const insertMs = performance.now() - insertStart;
    log(`webhooks (a): inserted in ${fmt.seconds(insertMs)}, waiting for the deliveries`);
    const waitEnd = await receiver.waitFor(sink.path, ids.size, stallMs, performance.now() + settings.waitSeconds * 1000);
    const got = receiver.received(sink.path).filter((d) => ids.has(d.id));
    const firstAt = got.reduce((m, d) => Math.min(m, d.at), Number.POSITIVE_INFINITY);
    const lastAt = got.reduce((m, d) => Math.max(m, d.at), Number.NEGATIVE_INFINITY);
    const aCounts = counts(got);
    const throughput: ThroughputResult = {
      events: ids.size,
      insertMs,
      delivery: { ...aCounts, missing: ids.size - aCounts.distinct, badSignatures: verifyAll(got, sink.secret) },
      waitEnd,
      waitS: settings.waitSeconds,
      perSecond: got.length > 1 ? (aCounts.distinct - 1) / ((lastAt - firstAt) / 1000) : Number.NaN,
      spanMs: lastAt - firstAt,
      endToEndMs: lastAt - firstCommit,
      statuses: await deliveryStatuses([sink.id]),
    };
    // Whatever is still queued for it must not compete with (b).
    expectJson(await api('PATCH', `/webhook-endpoints/${sink.id}`, authA, { status: 'disabled' }), 200, 'updateWebhookEndpoint');
    log(
      `webhooks (a): ${fmt.int(throughput.perSecond)} deliveries/s (${fmt.int(aCounts.distinct)} of ${fmt.int(ids.size)} in ` +
        `${fmt.seconds(throughput.spanMs)}, ${aCounts.duplicates} duplicates, ${throughput.delivery.badSignatures} bad signatures)`,
    );

    // ---- (b) lag -----------------------------------------------------------------------------
    const b = await seedDemoTenant(database.db.prisma);
    const authB = { 'x-api-key': b.api_key, 'x-department-id': b.departments[0]!.id };
    const dealBody = requestExample('/deals', 'post', 'reference');
    // Enough deals that each is updated about once a second (no waits on each other's row lock).
    const deals: string[] = [];
    const dealCount = Math.max(1, Math.ceil(settings.rate / 2));
    let requested = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (requested < dealCount) {
          requested++;
          deals.push(expectJson<{ id: string }>(await api('POST', '/deals', authB, dealBody), 201, 'createDeal').id);
        }
      }),
    );
    // The deals' own events were made before any endpoint existed: let the dispatcher pass them.
    await dispatchCaughtUp();
    const endpoints: Endpoint[] = [];
    for (let i = 0; i < settings.endpoints; i++) endpoints.push(await createEndpoint(authB, `/hooks/lag-${i}`));
    const customerBody = requestExample('/customers', 'post', 'full');
    const total = settings.rate * settings.lagSeconds;
    log(`webhooks (b): ${settings.rate} events/s for ${settings.lagSeconds} s, ${settings.endpoints} endpoints '*'`);

    type Write = { key: string; reply: Reply };
    const writes: Write[] = [];
    const failedWrites: Record<string, number> = {};
    const write = async (i: number) => {
      // Each write makes exactly one event: customer.created, or deal.updated (no step change).
      const reply =
        i % 2 === 0
          ? await api('POST', '/customers', authB, customerBody)
          : await api('PATCH', `/deals/${deals[(i >> 1) % deals.length]}`, authB, { volume: i });
      if (reply.status !== (i % 2 === 0 ? 201 : 200)) {
        failedWrites[reply.status] = (failedWrites[reply.status] ?? 0) + 1;
        if (Object.values(failedWrites).reduce((x, y) => x + y, 0) === 1)
          log(`!!! write answered ${reply.status}: ${reply.body.slice(0, 500)}`);
        return;
      }
      const id = (JSON.parse(reply.body) as { id: string }).id;
      const version = Number(/\d+/.exec(String(reply.headers.etag))?.[0]);
      writes.push({ key: `${i % 2 === 0 ? 'customer.created' : 'deal.updated'}/${id}/${version}`, reply });
    };
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      // Open loop: each write leaves at its time whether or not earlier ones were answered.
      const wait = t0 + (i * 1000) / settings.rate - performance.now();
      if (wait >= 1) await sleep(wait);
      pending.push(
        write(i).catch((error: unknown) => {
          failedWrites.error = (failedWrites.error ?? 0) + 1;
          log(`!!! write failed: ${(error as Error).message}`);
        }),
      );
    }
    await Promise.all(pending);
    const writesDone = performance.now();
    log(`webhooks (b): ${fmt.int(writes.length)} writes answered, waiting for the deliveries`);
    const waitEnds: WaitEnd[] = [];
    const lagDeadline = performance.now() + settings.waitSeconds * 1000;
    for (const e of endpoints) waitEnds.push(await receiver.waitFor(e.path, writes.length, stallMs, lagDeadline));
    loopDelay.disable();

    const { rows: events } = await database.db.pool.query<{ id: string; key: string }>(
      `SELECT id::text, type || '/' || resource_id::text || '/' || resource_version AS key
       FROM events WHERE tenant_id = $1 AND type IN ('customer.created', 'deal.updated')`,
      [b.tenant_id],
    );
    const eventOf = new Map(events.map((e) => [e.key, e.id]));
    const writeOf = new Map<string, Write>();
    for (const w of writes) {
      const id = eventOf.get(w.key);
      if (id === undefined) throw new Error(`no event for the write ${w.key}: did the server append it?`);
      writeOf.set(id, w);
    }
    const lags: number[] = [];
    const all: Received[] = [];
    let badSignatures = 0;
    for (const e of endpoints) {
      const got = receiver.received(e.path).filter((d) => writeOf.has(d.id));
      badSignatures += verifyAll(got, e.secret);
      all.push(...got);
      for (const d of got) lags.push(d.at - writeOf.get(d.id)!.reply.at);
    }
    const bCounts = counts(all);
    // Distinct per endpoint: the same event to three endpoints is three deliveries.
    const distinct = endpoints.reduce(
      (n, e) =>
        n +
        new Set(
          receiver
            .received(e.path)
            .filter((d) => writeOf.has(d.id))
            .map((d) => d.id),
        ).size,
      0,
    );
    const expected = writes.length * endpoints.length;
    // A delivery that never came has a lag longer than anything measured: the percentiles count
    // it as infinite rather than leave it out (which would flatter them).
    for (let i = distinct; i < expected; i++) lags.push(Number.POSITIVE_INFINITY);
    const writeTimes = writes.map((w) => w.reply.at - w.reply.sentAt);
    const lag: LagResult = {
      endpoints: endpoints.length,
      writes: writes.length,
      failedWrites,
      rate: writes.length / ((writesDone - t0) / 1000),
      writeP50Ms: percentile(writeTimes, 50),
      writeP99Ms: percentile(writeTimes, 99),
      delivery: {
        received: bCounts.received,
        distinct,
        duplicates: bCounts.received - distinct,
        missing: expected - distinct,
        badSignatures,
        expected,
      },
      waitEnds,
      p50Ms: percentile(lags, 50),
      p99Ms: percentile(lags, 99),
      maxMs: percentile(lags, 100),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      statuses: await deliveryStatuses(endpoints.map((e) => e.id)),
    };
    log(
      `webhooks (b): lag p50 ${fmtLag(lag.p50Ms)}, p99 ${fmtLag(lag.p99Ms)}, max ${fmtLag(lag.maxMs)} ` +
        `(${fmt.int(distinct)} of ${fmt.int(expected)} deliveries, ${lag.delivery.duplicates} duplicates, ${badSignatures} bad signatures)`,
    );
    return { throughput, lag, loadAtStart, elapsedMs: Date.now() - started };
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserver output:\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    agent.destroy();
    await receiver.stop();
    await server.stop();
  }
}

// Copies of one real customer's created event with fresh ids (PostgreSQL 18's uuidv7(), time
// ordered like the server's), tenant-wide as customer events are, built by api_event_json.
const insertEventsSql = `
  WITH e AS (SELECT uuidv7() AS id FROM generate_series(1, $3::int))
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT c.tenant_id, e.id, NULL, 'customer.created', c.id, c.version, NULL, NULL, now(),
         api_event_json(e.id, 'customer.created', now(), row_to_json(ROW(api_customer_json(c), c.version)::api_event_change), NULL, NULL)
  FROM customers c CROSS JOIN e
  WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid
  RETURNING id::text`;

/**
 * Waits until the dispatcher has passed every event (webhook_dispatch_position, migration
 * 20261202000300), so events made before an endpoint existed are not counted as its load.
 */
async function waitForDispatch(database: BenchDatabase, log: Log): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await database.db.pool.query<{ behind: number }>(`
      SELECT count(*)::int AS behind FROM (
        SELECT 1 FROM events e
        WHERE (e.txid, e.id) > (SELECT p.txid, p.id FROM webhook_dispatch_position p)
        LIMIT 100000) x`);
    if (rows[0]!.behind === 0) return;
    if (Date.now() > deadline) {
      log(`!!! webhooks: the dispatcher is still ${rows[0]!.behind} events behind after 60 s; going on`);
      return;
    }
    await sleep(200);
  }
}

// ---- report ------------------------------------------------------------------------------------

const verdict = (ok: boolean) => (ok ? 'PASS' : '**FAIL**');

/** A lag in ms; an infinite one is a delivery that had not come when the wait ended. */
export const fmtLag = (ms: number) => (ms === Number.POSITIVE_INFINITY ? 'undelivered' : `${fmt.ms(ms)} ms`);

/**
 * Whether the run is valid: no bad signature, no failed write, and no delivery that stopped
 * coming (a wait that ended at its deadline is slow delivery, which the figures already show).
 */
export function webhookRunValid(r: WebhookBenchResult): boolean {
  return (
    r.throughput.waitEnd !== 'stalled' &&
    r.throughput.delivery.badSignatures === 0 &&
    !r.lag.waitEnds.includes('stalled') &&
    r.lag.delivery.badSignatures === 0 &&
    Object.keys(r.lag.failedWrites).length === 0
  );
}

const waitText = (end: WaitEnd, waitS: number) =>
  end === 'complete' ? '' : end === 'deadline' ? ` (**not all delivered within ${waitS} s**)` : ' (**no delivery came for 30 s**)';

export function webhookVerdicts(r: WebhookBenchResult): string[] {
  return [
    `- webhook delivery throughput: ${fmt.int(r.throughput.perSecond)} deliveries/s (goal ≥ ${fmt.int(throughputGoal)}/s) — ${verdict(r.throughput.perSecond >= throughputGoal)}`,
    `- webhook lag at ${fmt.int(r.lag.rate)} events/s × ${r.lag.endpoints} endpoints: p99 ${fmtLag(r.lag.p99Ms)} (goal < ${fmt.int(lagGoalMs)} ms) — ${verdict(r.lag.p99Ms < lagGoalMs)}`,
  ];
}

export function webhookMarkdown(r: WebhookBenchResult): string[] {
  const { throughput: a, lag: b } = r;
  const statuses = (s: Record<string, number>) =>
    Object.entries(s)
      .map(([k, v]) => `${k} ${fmt.int(v)}`)
      .join(', ') || 'none';
  const table = markdownTable(
    ['measurement', 'events', 'endpoints', 'deliveries received', 'duplicates', 'missing', 'bad signatures', 'result', 'goal'],
    [
      [
        '(a) throughput',
        fmt.int(a.events),
        '1',
        fmt.int(a.delivery.received),
        String(a.delivery.duplicates),
        a.delivery.missing ? `**${fmt.int(a.delivery.missing)}**${waitText(a.waitEnd, a.waitS)}` : '0',
        a.delivery.badSignatures ? `**${a.delivery.badSignatures}**` : '0',
        `**${fmt.int(a.perSecond)} deliveries/s**`,
        `≥ ${fmt.int(throughputGoal)}/s`,
      ],
      [
        `(b) lag at ${fmt.int(b.rate)} events/s`,
        fmt.int(b.writes),
        String(b.endpoints),
        fmt.int(b.delivery.received),
        String(b.delivery.duplicates),
        b.delivery.missing
          ? `**${fmt.int(b.delivery.missing)}**${waitText(b.waitEnds.find((e) => e !== 'complete') ?? 'complete', webhookSettings().waitSeconds)}`
          : '0',
        b.delivery.badSignatures ? `**${b.delivery.badSignatures}**` : '0',
        `p50 ${fmtLag(b.p50Ms)}, **p99 ${fmtLag(b.p99Ms)}**, max ${fmtLag(b.maxMs)}`,
        `p99 < ${fmt.int(lagGoalMs)} ms`,
      ],
    ],
  );
  return [
    '## Webhook delivery',
    '',
    "The real server (`npm start`'s command, its delivery worker inside, `WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`) delivering to a",
    'receiver on 127.0.0.1 in the bench process (node:http, answers 200 at once); every delivery verified afterwards with',
    `\`standardwebhooks\`. Total time of this part ${fmt.seconds(r.elapsedMs)}.`,
    '',
    table,
    '',
    `- (a) ${fmt.int(a.events)} events inserted with SQL (copies of one customer.created payload, fresh ids) in batches of 1,000`,
    `  in ${fmt.seconds(a.insertMs)}, one endpoint '*': first → last delivery ${fmt.seconds(a.spanMs)}; from the first commit to the last`,
    `  delivery ${fmt.seconds(a.endToEndMs)}. Delivery rows afterwards: ${statuses(a.statuses)}.`,
    `- (b) createCustomer and updateDeal in turn through the API, open loop, ${fmt.int(b.writes)} writes (${fmt.int(b.rate)}/s achieved,`,
    `  write time from its scheduled start, waits for one of the 64 client sockets included: p50 ${fmt.ms(b.writeP50Ms)} ms, p99 ${fmt.ms(b.writeP99Ms)} ms${Object.keys(b.failedWrites).length ? `, **failed: ${JSON.stringify(b.failedWrites)}**` : ''}),`,
    `  ${b.endpoints} endpoints '*': lag = delivery received − the write's response (the event committed just before it; a delivery`,
    `  can beat the response, so small negative lags are possible). ${fmt.int(b.delivery.distinct)} of ${fmt.int(b.delivery.expected)} deliveries;`,
    `  the bench process's own event-loop delay p99 ${fmt.ms(b.loopDelayP99Ms)} ms (included in the lag). Delivery rows afterwards: ${statuses(b.statuses)}.`,
    ...webhookVerdicts(r),
    ...(webhookRunValid(r)
      ? []
      : ['', '**DELIVERIES STOPPED COMING, BAD SIGNATURES OR FAILED WRITES (see above): the webhook figures are not valid.**']),
  ];
}

export function webhookChart(r: WebhookBenchResult, subtitle: string): string {
  return webhookChartSvg('Webhook delivery', subtitle, {
    throughput: r.throughput.perSecond,
    throughputGoal,
    lag: { p50: r.lag.p50Ms, p99: r.lag.p99Ms, max: r.lag.maxMs },
    lagGoalMs,
    lagLabel: `${fmt.int(r.lag.rate)} events/s × ${r.lag.endpoints} endpoints`,
  });
}

// ---- `npm run bench:webhooks`: this part alone -------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = (message: string) => console.error(`[bench] ${message}`);
  runBench(async () => {
    const loadAtStart = loadavg();
    const database = await startBenchDatabase(log);
    log(`database: ${database.version}, ${database.origin}`);
    const result = await webhookBench(database, positiveFromEnv('BENCH_POOL_MAX', 10), log);
    const stamp = timestamp();
    const lines = webhookMarkdown(result);
    const report = [
      `# Webhook delivery — ${stamp}`,
      '',
      ...lines.slice(2),
      '',
      '## Machine',
      ...machineLines(database.version, database.origin, loadAtStart),
      '',
    ];
    const mdPath = await writeResult(`webhooks-${stamp}.md`, report.join('\n'));
    const svg = webhookChart(result, `${database.version}, ${process.version}`);
    const { png, reason } = await svgToPng(svg);
    const chartPath = png ? await writeResult(`webhooks-${stamp}.png`, png) : await writeResult(`webhooks-${stamp}.svg`, svg);
    if (!png) log(`chart written as SVG only: ${reason}`);
    console.log(`\n${webhookVerdicts(result).join('\n')}\n\nreport: ${mdPath}\nchart:  ${chartPath}`);
    if (!webhookRunValid(result)) process.exitCode = 1;
  });
}
