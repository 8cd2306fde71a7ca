// Runs Prism inside this process, with the two calls `prism mock` itself makes (prism-cli's
// createPrismServerWithLogger), each from its package's own entry point: @stoplight/prism-http's
// getHttpOperationsFromSpec reads the contract into operations, @stoplight/prism-http-server's
// createServer serves them. The CLI package is not used: its entry point parses process.argv and
// its server factory is reachable only by a deep import and logs to stdout, so serving through it
// took a child process, a readiness probe and process-group cleanup. In-process, `listen` resolves
// once the port is bound, and no mock can outlive the process that started it.

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createRequire } from 'node:module';
import { createLogger } from '@stoplight/prism-core';
import { getHttpOperationsFromSpec, type IHttpConfig } from '@stoplight/prism-http';
import { createServer } from '@stoplight/prism-http-server';
import { parse } from 'yaml';

export interface MockOptions {
  /** Port to listen on; 0 or omitted lets the system pick a free one, so parallel test files never collide. */
  port?: number;
  /** Interface to listen on; 127.0.0.1 unless you need the mock reachable from elsewhere. */
  host?: string;
  /** The contract to serve; the repository's openapi/deals.yaml by default. */
  contractPath?: string;
  /** Serve edits of the contract without a restart. */
  watch?: boolean;
  /** Receives Prism's log lines (request log, validation violations); silent when omitted. */
  log?: (line: string) => void;
}

export interface RunningMock {
  /** The API base, as clients use it: `http://127.0.0.1:4010/api/v1/integration`. */
  baseUrl: string;
  /** Closes the listener; safe to call more than once. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

// What `prism mock --errors` configures: requests are validated (an invalid one gets the
// contract's 422, a missing credential its 401), and a response that breaks its own schema (a
// wrong example in the contract) becomes a 500 problem instead of being served silently.
const config: IHttpConfig = {
  isProxy: false,
  validateRequest: true,
  validateResponse: true,
  checkSecurity: true,
  errors: true,
  upstreamProxy: undefined,
  mock: { dynamic: false, ignoreExamples: false },
};

/** Starts Prism on the contract and resolves once it listens. */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  const { port = 0, host = '127.0.0.1', contractPath = require.resolve('@deals/contract/deals.yaml'), watch = false, log } = options;
  const { operations, basePath } = await loadContract(contractPath);
  const logger = createLogger('HTTP SERVER', { level: log ? 'info' : 'silent' }, { write: (line: string) => log?.(formatLogLine(line)) });
  // CORS on, as the CLI has it by default: frontend code in a browser calls the mock directly.
  const server = createServer(operations, { cors: true, config, components: { logger } });
  let address: string;
  try {
    address = await server.listen(port, host);
  } catch (message) {
    // listen() rejects with the error's message, e.g. "listen EADDRINUSE: address already in use …".
    throw new Error(`Prism could not listen on ${host}:${port}: ${String(message)}`);
  }
  // The address comes back as `http://<address>:<port>`; only the port is needed (port 0 picks one).
  const boundPort = /:(\d+)$/.exec(address)?.[1] ?? String(port);
  const stopWatching = watch ? watchContract(contractPath, operations, log) : () => {};
  const stop = async () => {
    stopWatching();
    await server.close();
  };
  let stopped: Promise<void> | undefined;
  return { baseUrl: `http://${urlHost(host)}:${boundPort}${basePath}`, stop: () => (stopped ??= stop()) };
}

type Operations = Awaited<ReturnType<typeof getHttpOperationsFromSpec>>;

/**
 * Reads the contract into Prism's operations, each path prefixed with the path of `servers[0].url`.
 *
 * Prism ignores `servers[].url` when routing (it serves every path at the root and matches
 * servers only for its `__server` query parameter), so it would answer `/deals`, not the
 * contract's `/api/v1/integration/deals`. Prefixing the paths lets clients use the same base URL
 * for the mock as for the real server. Prism declines a base-path option by design (its README
 * FAQ; https://github.com/stoplightio/prism/issues/906 and #1591).
 */
async function loadContract(contractPath: string): Promise<{ operations: Operations; basePath: string }> {
  const document = parse(readFileSync(contractPath, 'utf8')) as { servers?: { url: string }[]; paths: Record<string, unknown> };
  const basePath = new URL(document.servers?.[0]?.url ?? '/', 'http://relative.invalid').pathname.replace(/\/$/, '');
  document.paths = Object.fromEntries(Object.entries(document.paths).map(([path, item]) => [`${basePath}${path}`, item]));
  const operations = await getHttpOperationsFromSpec(document);
  // The CLI refuses such a document too; serving it would answer every request with 404.
  if (operations.length === 0) throw new Error(`No operations found in ${contractPath}`);
  return { operations, basePath };
}

/**
 * Reloads the contract when it changes. The server routes every request through the operations
 * array it was created with, so replacing that array's contents serves the edit on the same port
 * and connections, with no restart (the CLI's watch mode closes and re-creates the server instead;
 * the watch test fails if a Prism upgrade stops reading the array per request).
 * Polling (watchFile) also sees editors that save by replacing the file.
 */
function watchContract(contractPath: string, operations: Operations, log?: (line: string) => void): () => void {
  let reloading = Promise.resolve();
  const reload = async () => {
    try {
      const next = await loadContract(contractPath);
      operations.splice(0, operations.length, ...next.operations);
      log?.(`contract changed: ${contractPath} reloaded`);
    } catch (error) {
      // A half-written or invalid contract: keep serving the last good one until the next save.
      log?.(`contract changed but could not be read, still serving the previous one: ${String(error)}`);
    }
  };
  // One reload at a time, in order, so a slow read of an older save never replaces a newer one.
  const onChange = () => void (reloading = reloading.then(reload));
  watchFile(contractPath, { interval: 300 }, onChange);
  return () => unwatchFile(contractPath, onChange);
}

/** One of Prism's JSON log records as a line to read: `info [HTTP SERVER] post /api/... Request received`. */
function formatLogLine(json: string): string {
  const { level, name, msg, input } = JSON.parse(json) as {
    level: number;
    name?: string;
    msg?: string;
    input?: { method: string; url: { path: string } };
  };
  const request = input ? ` ${input.method.toUpperCase()} ${input.url.path}` : '';
  return `${levelNames[level] ?? level} [${name ?? 'HTTP SERVER'}]${request} ${msg ?? ''}`;
}

// pino's numbers, and the `success` level Prism adds (prism-core's createLogger).
const levelNames: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 32: 'success', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The host part of a URL that reaches `host`: a wildcard listener is reached on loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
