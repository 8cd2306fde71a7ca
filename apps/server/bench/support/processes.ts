// The processes under test: the real server (`dist/main.js`, exactly as `npm start` runs it) and the
// bare baseline, each a child process of its own so that its memory can be read from /proc
// and neither shares an event loop with the load generator.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/free-port.ts';
import { npmStartCommand } from '../../test/support/process.ts';
import { onCleanup } from './cleanup.ts';

// The server runs exactly as `npm start` runs it (the compiled dist/, its V8 flags); the
// baseline gets the same V8 flags.
const v8Flags = npmStartCommand().filter((arg) => arg.startsWith('--'));

// One free-port helper for tests and benches.
export { freePort };

export const serverDir = fileURLToPath(new URL('../..', import.meta.url));

export type Child = {
  name: string;
  pid: number;
  origin: string;
  /** The last lines it printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
};

async function startChild(name: string, args: string[], env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each process (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, ...args], {
    cwd: serverDir,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = onCleanup(`stop ${name} (pid ${child.pid})`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 60 s:\n${output}`);
    const ok = await fetch(`${origin}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, pid: child.pid!, origin, output: () => output, stop };
}

// One webhook secret key per bench run, shared by every server process it starts (each
// must open the secrets the others sealed), so no key file is written next to the database.
const webhookEncryptionKey = randomBytes(32).toString('base64');

/**
 * The real server, configured as the issue asks: no rate limit, warn logs, production. It runs
 * the webhook worker, as `npm start` does; `env` adds settings (e.g. WEBHOOK_ALLOW_PRIVATE_NETWORKS).
 */
export function startServer(databaseUrl: string, poolMax: number, env: Record<string, string> = {}): Promise<Child> {
  return startChild('server', npmStartCommand(), {
    DATABASE_URL: databaseUrl,
    DB_POOL_MAX: String(poolMax),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_SECOND: '0',
    SEED_DEMO_ON_EMPTY: 'false',
    NODE_ENV: 'production',
    WEBHOOK_ENCRYPTION_KEY: webhookEncryptionKey,
    ...env,
  });
}

export function startBaseline(databaseUrl: string, poolMax: number): Promise<Child> {
  return startChild('baseline', [...v8Flags, '--import', 'tsx', 'bench/baseline-server.ts'], {
    DATABASE_URL: databaseUrl,
    DB_POOL_MAX: String(poolMax),
    NODE_ENV: 'production',
  });
}

/** Resident set size of a process in MB (VmRSS of /proc/<pid>/status), or undefined. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the largest sample. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let max = rssMb(pid) ?? 0;
  const timer = setInterval(() => {
    max = Math.max(max, rssMb(pid) ?? 0);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, rssMb(pid) ?? 0);
      return max;
    },
  };
}
