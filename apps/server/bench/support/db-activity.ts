// What PostgreSQL did during a measured run, per request: WAL records, full-page images (FPI)
// and WAL bytes, checkpoints, and the CPU time of all its processes. Throughput on a shared
// two-core machine moves with whatever else runs; these figures do not, so they show whether
// a request got more expensive or the machine got busier (issue #8: createDeal with random
// UUIDv4 Idempotency-Keys).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

export type DbActivity = {
  /** pg_stat_wal: each backend reports at most once a second, so a run's figures may include
   *  the last second of the run before (bench/idempotency-keys.ts counts images from the WAL). */
  walRecords: number;
  walFpi: number;
  /** From the insert position, so exact (pg_stat_wal lags by up to a second per backend). */
  walBytes: number;
  checkpoints: number;
  /** Seconds of CPU used by the postmaster and all its children so far; NaN if not readable. */
  cpuSeconds: number;
};

export type DbActivityPerRequest = { walRecords: number; fpi: number; walKb: number; cpuMs: number; checkpoints: number };

const USER_HZ = 100;

/** utime + stime of a process, of its reaped children, and its parent pid. */
function processCpu(pid: number): { own: number; reaped: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / USER_HZ, reaped: (Number(f[13]) + Number(f[14])) / USER_HZ };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process: its own, its reaped children's and its live children's. A child
 * reaped while /proc is being read would be counted in neither (or both), so the sum is taken
 * again until the parent's reaped total did not change meanwhile.
 */
export function processTreeCpu(pid: number): number {
  for (let attempt = 0; attempt < 10; attempt++) {
    const root = processCpu(pid);
    if (!root) return Number.NaN;
    let total = root.own + root.reaped;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const p = processCpu(Number(entry));
      if (p?.ppid === pid) total += p.own;
    }
    if (processCpu(pid)?.reaped === root.reaped) return total;
  }
  return Number.NaN;
}

/** The postmaster's pid when PostgreSQL runs on this machine and we may read its data directory. */
export async function postmasterPid(pool: pg.Pool): Promise<number | undefined> {
  try {
    const { rows } = await pool.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    const pid = Number(readFileSync(join(rows[0]!.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return processCpu(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Checkpoints completed: pg_stat_checkpointer.num_done from PostgreSQL 18, pg_stat_bgwriter before 17. */
async function checkpointsSql(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
  const version = rows[0]!.v;
  if (version >= 180000) return '(SELECT num_done FROM pg_stat_checkpointer)';
  if (version >= 170000) return '(SELECT num_timed + num_requested FROM pg_stat_checkpointer)';
  return '(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)';
}

const checkpointQueries = new WeakMap<pg.Pool, Promise<string>>();

export async function dbActivity(pool: pg.Pool, postmaster: number | undefined): Promise<DbActivity> {
  if (!checkpointQueries.has(pool)) checkpointQueries.set(pool, checkpointsSql(pool));
  const { rows } = await pool.query<{ records: number; fpi: number; bytes: number; checkpoints: number }>(`
    SELECT w.wal_records::float8 AS records, w.wal_fpi::float8 AS fpi,
           (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::float8 AS bytes,
           ${await checkpointQueries.get(pool)!}::float8 AS checkpoints
    FROM pg_stat_wal w`);
  const r = rows[0]!;
  return {
    walRecords: r.records,
    walFpi: r.fpi,
    walBytes: r.bytes,
    checkpoints: r.checkpoints,
    cpuSeconds: postmaster === undefined ? Number.NaN : processTreeCpu(postmaster),
  };
}

export function perRequest(before: DbActivity, after: DbActivity, requests: number): DbActivityPerRequest {
  const n = Math.max(1, requests);
  return {
    walRecords: (after.walRecords - before.walRecords) / n,
    fpi: (after.walFpi - before.walFpi) / n,
    walKb: (after.walBytes - before.walBytes) / n / 1024,
    cpuMs: ((after.cpuSeconds - before.cpuSeconds) / n) * 1000,
    checkpoints: after.checkpoints - before.checkpoints,
  };
}
