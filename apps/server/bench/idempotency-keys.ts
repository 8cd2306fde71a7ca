// `npx tsx bench/idempotency-keys.ts`: what the kind of Idempotency-Key costs createDeal once
// idempotency_records holds a day of keys (issue #8). About 4 minutes.
//
// A random key (UUIDv4: `uuidgen`, crypto.randomUUID) lands on a random leaf of the primary key
// (tenant_id, key); a time-ordered one (UUIDv7, what @deals/client sends) lands on the
// rightmost leaf. After every checkpoint PostgreSQL writes the whole page to the WAL the first
// time it changes a page (a full-page image, FPI), so once the index has far more leaves than
// requests arrive between two checkpoints, every random key costs a full-page image and every
// time-ordered one almost none. `npm run bench` starts from an empty table (a few hundred
// leaves at its end), where the difference stays small; this bench sizes the table as
// production does (BENCH_PREFILL=0 shows the small case).
//
// Setup as `npm run bench` (fresh embedded PostgreSQL, the real server and the bare baseline as
// child processes, autocannon with 16 connections), plus one tenant per kind of key, each
// prefilled with BENCH_PREFILL earlier records of its kind (1,000,000: 24 hours at ~12 keys/s).
// Then rounds of createDeal without a key, with random v4 keys and with v7 keys, on both
// implementations (who goes first alternates), each run after a warm-up and a CHECKPOINT (one
// happens every few minutes in production). Per run: req/s, and per request the CPU time of
// PostgreSQL, WAL bytes (from WAL positions) and full-page images with the relations they were
// of (read back from the WAL with pg_walinspect), so that a difference in req/s on a shared
// machine can be told from a difference in work.
//
// Env: BENCH_DURATION_S (8), BENCH_RUNS (2 rounds), BENCH_CONNECTIONS (16), BENCH_POOL_MAX (10),
// BENCH_PREFILL (1000000; 0 for an empty table), BENCH_DATABASE_URL as in run.ts.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import type pg from 'pg';
import { seedDemoTenant } from '../src/admin/tenancy.ts';
import { basePath, requestExample } from '../src/contract.ts';
import { uuidv7 } from '../src/ids.ts';
import { runBench } from './support/cleanup.ts';
import { startBenchDatabase } from './support/database.ts';
import { type DbActivityPerRequest, dbActivity, perRequest, postmasterPid } from './support/db-activity.ts';
import { positiveFromEnv } from './support/env.ts';
import { type LoadSpec, runLoad } from './support/load.ts';
import { type Child, startBaseline, startServer } from './support/processes.ts';
import { fmt, machineLines, markdownTable, median, timestamp, writeResult } from './support/report.ts';

const durationS = positiveFromEnv('BENCH_DURATION_S', 8);
const rounds = positiveFromEnv('BENCH_RUNS', 2);
const connections = positiveFromEnv('BENCH_CONNECTIONS', 16);
const poolMax = positiveFromEnv('BENCH_POOL_MAX', 10);
const prefill = process.env.BENCH_PREFILL === '0' ? 0 : positiveFromEnv('BENCH_PREFILL', 1_000_000);
const warmupS = Math.min(2, Math.max(1, Math.round(durationS / 4)));

const kinds = [
  { kind: 'none', label: 'no key', makeKey: undefined, sqlKey: '' },
  { kind: 'v4', label: 'random UUIDv4', makeKey: randomUUID, sqlKey: 'gen_random_uuid()' },
  { kind: 'v7', label: 'UUIDv7', makeKey: uuidv7, sqlKey: 'uuidv7()' },
] as const;
type Kind = (typeof kinds)[number];

const log = (message: string) => console.error(`[idem] ${message}`);
const referenceBody = JSON.stringify(requestExample('/deals', 'post', 'reference'));

type Run = {
  round: number;
  kind: Kind;
  impl: string;
  rps: number;
  p99Ms: number;
  db: DbActivityPerRequest;
  fpi: number;
  fpiOf: string;
  pkeyMb: number;
};

runBench(async () => {
  const started = Date.now();
  const loadAtStart = loadavg();
  const database = await startBenchDatabase(log);
  const { pool } = database.db;
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const settings = await pool.query<{ name: string; value: string }>(
    `SELECT name, current_setting(name) AS value FROM pg_settings
     WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'full_page_writes', 'wal_compression', 'data_checksums')
     ORDER BY name`,
  );
  const settingsLine = settings.rows.map((s) => `${s.name}=${s.value}`).join(', ');
  log(`${database.version}; ${settingsLine}`);

  // One tenant per kind, so each kind's keys have their own range of the primary key, as each
  // tenant's keys do in production.
  const headers = new Map<Kind, Record<string, string>>();
  for (const k of kinds) {
    const demo = await seedDemoTenant(database.db.prisma);
    headers.set(k, { 'x-api-key': demo.api_key, 'x-department-id': demo.departments[0]!.id, 'content-type': 'application/json' });
    if (prefill && k.sqlKey) {
      const t0 = Date.now();
      await pool.query(
        `INSERT INTO idempotency_records (tenant_id, key, request_hash, status_code, response_body, created_at, expires_at)
         SELECT $1, ${k.sqlKey}::text, 'prefill', 201, '{}', now(), now() + interval '24 hours' FROM generate_series(1, $2)`,
        [demo.tenant_id, prefill],
      );
      log(`prefilled ${fmt.int(prefill)} ${k.label} keys in ${fmt.seconds(Date.now() - t0)}`);
    }
  }
  await pool.query('VACUUM ANALYZE idempotency_records');

  const server = await startServer(database.url, poolMax);
  const baseline = await startBaseline(database.url, poolMax);
  const postmaster = await postmasterPid(pool);
  const spec = (k: Kind): LoadSpec => ({
    method: 'POST',
    path: `${basePath}/deals`,
    headers: headers.get(k)!,
    body: referenceBody,
    ...(k.makeKey ? { perRequestHeaders: () => ({ 'idempotency-key': k.makeKey() }) } : {}),
  });

  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const k of kinds) {
      for (const impl of round % 2 === 1 ? [server, baseline] : [baseline, server]) {
        const warm = await runLoad(impl.origin, spec(k), warmupS, connections);
        await pool.query('CHECKPOINT');
        const before = await dbActivity(pool, postmaster);
        const lsnBefore = await currentLsn(pool);
        const r = await runLoad(impl.origin, spec(k), durationS, connections);
        const db = perRequest(before, await dbActivity(pool, postmaster), r.ok);
        if (warm.non2xx + warm.errors + r.non2xx + r.errors > 0) {
          throw new Error(`${impl.name}, ${k.label}: ${r.non2xx} non-2xx ${JSON.stringify(r.badStatuses)}, ${r.errors} errors`);
        }
        const images = await fullPageImages(pool, lsnBefore, await currentLsn(pool));
        const run: Run = {
          round,
          kind: k,
          impl: impl.name,
          rps: r.rps,
          p99Ms: r.p99Ms,
          db,
          fpi: images.total / Math.max(1, r.ok),
          fpiOf: images.byRelation,
          pkeyMb: await pkeyMb(pool),
        };
        runs.push(run);
        log(
          `round ${round} ${k.label.padEnd(13)} ${impl.name.padEnd(8)} ${fmt.int(r.rps).padStart(5)} req/s, p99 ${fmt.ms(r.p99Ms)} ms | per request: ` +
            `PostgreSQL CPU ${fmt.ms(db.cpuMs)} ms, WAL ${db.walKb.toFixed(1)} kB, ${run.fpi.toFixed(2)} full-page images | images of ${run.fpiOf}`,
        );
      }
    }
  }

  const cellsOf = (k: Kind, impl: Child) => runs.filter((r) => r.kind === k && r.impl === impl.name);
  const summary = markdownTable(
    [
      'Idempotency-Key',
      'implementation',
      'req/s (median)',
      'req/s per round',
      'PostgreSQL CPU ms/req',
      'WAL kB/req',
      'full-page images/req',
    ],
    kinds.flatMap((k) =>
      [server, baseline].map((impl) => {
        const c = cellsOf(k, impl);
        return [
          k.label,
          impl.name,
          fmt.int(median(c.map((r) => r.rps))),
          c.map((r) => fmt.int(r.rps)).join(' / '),
          c.map((r) => fmt.ms(r.db.cpuMs)).join(' / '),
          c.map((r) => r.db.walKb.toFixed(1)).join(' / '),
          c.map((r) => r.fpi.toFixed(2)).join(' / '),
        ];
      }),
    ),
  );
  const detail = markdownTable(
    [
      'round',
      'Idempotency-Key',
      'implementation',
      'req/s',
      'p99 ms',
      'full-page images in the run, by relation',
      'idempotency_records_pkey MB after',
    ],
    runs.map((r) => [String(r.round), r.kind.label, r.impl, fmt.int(r.rps), fmt.ms(r.p99Ms), r.fpiOf, r.pkeyMb.toFixed(0)]),
  );
  const stamp = timestamp();
  const report = [
    `# createDeal by kind of Idempotency-Key — ${stamp}`,
    '',
    `Each kind's tenant prefilled with ${fmt.int(prefill)} records of its kind. autocannon, ${connections} connections, ${durationS} s per run`,
    `after ${warmupS} s of warm-up and a CHECKPOINT; pool ${poolMax}. Per request (divided by the run's 2xx responses): the CPU time of`,
    'all PostgreSQL processes, the WAL written (insert position) and the full-page images in it (read back with pg_walinspect).',
    `Total run time ${fmt.seconds(Date.now() - started)}.`,
    '',
    summary,
    '',
    detail,
    '',
    '## Machine',
    ...machineLines(database.version, database.origin, loadAtStart),
    `- ${settingsLine}`,
    '',
  ].join('\n');
  const path = await writeResult(`idempotency-keys-${stamp}.md`, report);
  console.log(`\n${summary}\n\nreport: ${path}`);
});

async function currentLsn(pool: pg.Pool): Promise<string> {
  return (await pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
}

async function pkeyMb(pool: pg.Pool): Promise<number> {
  return (await pool.query<{ mb: number }>("SELECT (pg_relation_size('idempotency_records_pkey') / 1048576.0)::float8 AS mb")).rows[0]!.mb;
}

/**
 * The full-page images between two WAL positions, read from the WAL itself (pg_stat_wal lags by
 * up to a second per backend, which would blur one run into the next): how many, and the three
 * relations with the most.
 */
async function fullPageImages(pool: pg.Pool, from: string, to: string): Promise<{ total: number; byRelation: string }> {
  const { rows } = await pool.query<{ rel: string; images: number }>(
    `SELECT coalesce(c.relname, b.relfilenode::text) AS rel, count(*)::float8 AS images
     FROM pg_get_wal_block_info($1::pg_lsn, $2::pg_lsn, false) b
     LEFT JOIN pg_class c ON c.relfilenode = b.relfilenode
     WHERE b.block_fpi_length > 0
     GROUP BY 1 ORDER BY count(*) DESC`,
    [from, to],
  );
  return {
    total: rows.reduce((n, r) => n + r.images, 0),
    byRelation:
      rows
        .slice(0, 3)
        .map((r) => `${r.rel} ${fmt.int(r.images)}`)
        .join(', ') || 'none',
  };
}
