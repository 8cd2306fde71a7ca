import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface MockOptions {
  /** Port to listen on; 0 or omitted picks a free one, so parallel test files never collide. */
  port?: number;
  /** Interface to listen on; 127.0.0.1 unless you need the mock reachable from elsewhere. */
  host?: string;
  /** The contract to serve; the repository's openapi/deals.yaml by default. */
  contractPath?: string;
  /** Serve edits of the contract without a restart (Prism reloads when its document changes). */
  watch?: boolean;
  /** Receives Prism's log lines (request log, validation violations); silent when omitted. */
  log?: (line: string) => void;
  /** How long Prism may take to answer its first request. */
  startTimeoutMs?: number;
}

export interface RunningMock {
  /** The API base, as clients use it: `http://127.0.0.1:4010/api/v1/integration`. */
  baseUrl: string;
  pid: number;
  /** Settles when Prism exits, for whatever reason, with its exit code (null when signalled). */
  exited: Promise<number | null>;
  /** Stops Prism and everything it started (its process group); safe to call more than once. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const prismChild = fileURLToPath(new URL('./prism-child.cjs', import.meta.url));

/**
 * Starts Prism on the contract as a child process and resolves once it answers HTTP.
 *
 * Prism ignores `servers[].url` when routing (it serves every path at the root and matches
 * servers only for its `__server` query parameter), so it would answer `/deals`, not the
 * contract's `/api/v1/integration/deals`. The mock therefore serves a copy of the contract
 * whose paths carry the base path of `servers[0].url`: clients use the same base URL for the
 * mock as for the real server. Prism declines a base-path option by design (its README FAQ;
 * https://github.com/stoplightio/prism/issues/906 and #1591).
 */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  const { host = '127.0.0.1', contractPath = require.resolve('@deals/contract/deals.yaml'), watch = false, log, startTimeoutMs = 30_000 } = options;
  const directory = mkdtempSync(join(tmpdir(), 'deals-mock-'));
  const documentPath = join(directory, 'deals.mock.json');
  const basePath = writeMockDocument(contractPath, documentPath);
  const cleanup = () => rmSync(directory, { recursive: true, force: true });
  // A port picked as free can be taken before Prism binds it; with an automatic port, try again.
  const attempts = options.port ? 1 : 3;
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port || (await freePort(host));
      try {
        const prism = await spawnPrism({ documentPath, directory, host, port, log, startTimeoutMs });
        const stopWatching = watch ? watchContract(contractPath, documentPath, log) : () => {};
        return {
          baseUrl: `http://${urlHost(host)}:${port}${basePath}`,
          pid: prism.pid,
          exited: prism.exited,
          stop: once(async () => {
            stopWatching();
            await prism.stop();
            cleanup();
          }),
        };
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** Writes the contract, with the server base path prepended to every path, as JSON for Prism. */
function writeMockDocument(contractPath: string, documentPath: string): string {
  const document = parse(readFileSync(contractPath, 'utf8')) as { servers?: { url: string }[]; paths: Record<string, unknown> };
  const basePath = new URL(document.servers?.[0]?.url ?? '/', 'http://relative.invalid').pathname.replace(/\/$/, '');
  document.paths = Object.fromEntries(Object.entries(document.paths).map(([path, item]) => [`${basePath}${path}`, item]));
  writeFileSync(documentPath, JSON.stringify(document));
  return basePath;
}

/**
 * Prism reloads when the file it serves changes; it serves the copy, so edits of the contract are
 * copied over. Polling (watchFile) also sees editors that save by replacing the file.
 */
function watchContract(contractPath: string, documentPath: string, log?: (line: string) => void): () => void {
  const onChange = () => {
    try {
      writeMockDocument(contractPath, documentPath);
      log?.(`contract changed: ${contractPath} reloaded`);
    } catch (error) {
      // A half-written or invalid contract: keep serving the last good copy until the next save.
      log?.(`contract changed but could not be read, still serving the previous one: ${String(error)}`);
    }
  };
  watchFile(contractPath, { interval: 300 }, onChange);
  return () => unwatchFile(contractPath, onChange);
}

interface PrismProcess {
  pid: number;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function spawnPrism(options: { documentPath: string; directory: string; host: string; port: number; log?: (line: string) => void; startTimeoutMs: number }): Promise<PrismProcess> {
  const { documentPath, directory, host, port, log, startTimeoutMs } = options;
  const prismPackage = require.resolve('@stoplight/prism-cli/package.json');
  const prismBin = join(dirname(prismPackage), (JSON.parse(readFileSync(prismPackage, 'utf8')) as { bin: { prism: string } }).bin.prism);
  // --errors: a response that breaks its own schema (a wrong example in the contract) becomes a
  // 500 problem instead of being served silently. Invalid requests get the contract's 422 either way.
  const prismArgs = ['mock', documentPath, '--host', host, '--port', String(port), '--errors'];
  // Prism runs inside prism-child.cjs, which exits when this process is gone (stdin closes), so no
  // Prism outlives its parent however the parent ends. detached: Prism leads its own process
  // group, so stop() signals the group, whatever Prism itself spawns.
  const child = spawn(process.execPath, [prismChild, directory, prismBin, ...prismArgs], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start Prism');

  const recent: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      recent.push(line);
      if (recent.length > 40) recent.shift();
      log?.(line);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);

  let running = true;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => ((running = false), resolve(code))));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (running) process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  // The quick path when the parent exits without calling stop(); prism-child.cjs covers the rest.
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);

  const stop = once(async () => {
    process.off('exit', killOnExit);
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    child.stdin.destroy();
  });

  const probing = new AbortController();
  const ready = waitUntilAnswering(`http://${urlHost(host)}:${port}`, startTimeoutMs, probing.signal);
  ready.catch(() => {}); // reported through the race below
  const died = exited.then((code) => {
    throw new Error(`Prism exited (code ${code}) before answering on port ${port}:\n${recent.join('\n')}`);
  });
  // Reported through the race below; after startup, exits are reported through `exited`.
  died.catch(() => {});
  try {
    await Promise.race([ready, died]);
  } catch (error) {
    probing.abort();
    await stop();
    throw error instanceof Error && !error.message.startsWith('Prism exited') ? new Error(`${error.message}\n${recent.join('\n')}`) : error;
  }
  return { pid, exited, stop };
}

/**
 * Any HTTP answer means the server is up. The probe is a CORS preflight, which Prism answers
 * itself without routing or logging, so the request log users read does not start with an error.
 */
async function waitUntilAnswering(origin: string, timeoutMs: number, cancelled: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const preflight = { Origin: 'http://127.0.0.1', 'Access-Control-Request-Method': 'GET' };
  while (!cancelled.aborted) {
    try {
      const response = await fetch(`${origin}/`, { method: 'OPTIONS', headers: preflight, signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`Prism did not answer on ${origin} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The host part of a URL that reaches `host`: a wildcard listener is reached on loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}
