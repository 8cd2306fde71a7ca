// One webhook delivery attempt, as the Standard Webhooks specification describes it, reduced to
// what the delivery log records. Never throws for a network outcome: every way a receiver can
// fail is an AttemptResult the worker can retry on and a user can read.
//
// node:http(s) rather than fetch: we need a lookup hook at connect time (the SSRF check runs on
// the addresses actually dialled, not on what the name resolved to when the endpoint was
// created), no redirect following, and a hard cap on how much of a response we read.

import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { signatureHeader } from './signature.ts';
import { type AddressPolicy, checkUrlShape, nonPublicReason, resolveAll, urlHost } from './ssrf.ts';

export type AttemptError = 'timeout' | 'dns' | 'blocked' | 'tls' | 'connect' | 'http';
export type AttemptResult = {
  attemptedAt: Date;
  statusCode: number | null;
  durationMs: number;
  error: AttemptError | null;
  responseBody: string | null;
  retryAfterSeconds: number | null;
};
export type WebhookRequest = {
  url: string;
  eventId: string;
  payload: string;
  secrets: readonly string[];
  timeoutMs: number;
  policy: AddressPolicy;
  now?: () => Date;
};

/** How much of a response body is kept (and read: the rest is never buffered). */
export const MAX_RESPONSE_BODY_BYTES = 4096;
export const USER_AGENT = 'Deals-Webhooks/1';

// Keep-alive agents, so that a busy endpoint costs one TCP (and TLS) handshake per socket, not
// per delivery. Separate agents for the strict and the permissive policy: a socket connected
// under allowPrivateNetworks must never be reused by a request that does not allow it.
// maxSockets bounds sockets per host:port; the worker's per-endpoint concurrency is the real
// limit. The idle timeout (4 s) is below Node's default server keep-alive (5 s), so we rarely
// reuse a socket the receiver is closing.
const agentOptions = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, timeout: 4000, scheduling: 'lifo' as const };
const agents = {
  strict: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
  permissive: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
};

/**
 * Closes the kept-alive sockets (idle ones are unref'd and close by themselves within 4 s;
 * this is for a shutdown that wants them gone now). Later deliveries open new sockets.
 */
export function closeIdleConnections(): void {
  for (const pool of [agents.strict, agents.permissive]) {
    for (const agent of [pool.http, pool.https]) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }
}

class BlockedAddress extends Error {}
class DnsFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}
class AttemptTimeout extends Error {}

type Outcome = Omit<AttemptResult, 'attemptedAt' | 'durationMs'>;

export async function sendWebhook(request: WebhookRequest): Promise<AttemptResult> {
  const now = request.now ?? (() => new Date());
  const attemptedAt = now();
  const started = performance.now();
  const outcome = await deliver(request, attemptedAt, now, started);
  return { attemptedAt, durationMs: Math.round(performance.now() - started), ...outcome };
}

async function deliver(request: WebhookRequest, attemptedAt: Date, now: () => Date, started: number): Promise<Outcome> {
  const target = targetOf(request.url, request.policy);
  if (target === null) return failure('blocked');

  const timestampSeconds = Math.floor(attemptedAt.getTime() / 1000);
  const headers = {
    'webhook-id': request.eventId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatureHeader(request.secrets, request.eventId, timestampSeconds, request.payload),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(request.payload)),
    'user-agent': USER_AGENT,
  };
  const deadline = started + request.timeoutMs;
  const first = await post(target, headers, request, deadline, now);
  // A kept-alive socket the receiver closed while it was idle fails at once with a reset,
  // before the receiver read anything: one more try on a fresh socket is not a retry.
  if (first.staleSocket && performance.now() < deadline) return (await post(target, headers, request, deadline, now)).outcome;
  return first.outcome;
}

/** Where a URL sends to: what node:http needs, checked against the policy. */
type Target = { secure: boolean; host: string; port: number | undefined; path: string };

// A worker sends to few URLs many times: parsing and checking each once per policy (a
// WeakMap: a policy that is dropped takes its entries along) saves that work per delivery.
// The check depends only on the URL text and the policy; the addresses are still checked on
// every connect (guardedLookup).
const targets = new WeakMap<AddressPolicy, Map<string, Target | null>>();
const MAX_TARGETS = 1000;

function targetOf(text: string, policy: AddressPolicy): Target | null {
  let known = targets.get(policy);
  if (!known) {
    known = new Map();
    targets.set(policy, known);
  }
  let target = known.get(text);
  if (target === undefined) {
    target = parseTarget(text, policy);
    if (known.size >= MAX_TARGETS) known.clear();
    known.set(text, target);
  }
  return target;
}

function parseTarget(text: string, policy: AddressPolicy): Target | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  // The endpoint passed checkWebhookUrl when it was saved; the configuration may have become
  // stricter since (WEBHOOK_ALLOW_PRIVATE_NETWORKS turned off), so check again.
  if (!checkUrlShape(url, policy).ok) return null;
  const host = urlHost(url);
  // Node connects to a literal address without calling the lookup hook: check it here.
  if (isIP(host) !== 0 && !policy.allowPrivateNetworks && nonPublicReason(host) !== null) return null;
  return {
    secure: url.protocol === 'https:',
    host,
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
  };
}

function post(
  target: Target,
  headers: Record<string, string>,
  request: WebhookRequest,
  deadline: number,
  now: () => Date,
): Promise<{ outcome: Outcome; staleSocket: boolean }> {
  return new Promise((resolve) => {
    const { secure } = target;
    const pool = request.policy.allowPrivateNetworks ? agents.permissive : agents.strict;
    const options: https.RequestOptions = {
      method: 'POST',
      hostname: target.host,
      port: target.port,
      path: target.path,
      headers,
      agent: secure ? pool.https : pool.http,
      lookup: guardedLookup(request.policy),
    };
    let settled = false;
    let responded = false;
    const settle = (outcome: Outcome, staleSocket = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, staleSocket });
    };
    const req = (secure ? https : http).request(options);
    const timer = setTimeout(
      () => {
        settle(failure('timeout'));
        req.destroy(new AttemptTimeout('the attempt took longer than its timeout'));
      },
      Math.max(0, deadline - performance.now()),
    );
    req.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const stale = !responded && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
      settle(failure(classify(error)), stale);
    });
    req.on('response', (res) => {
      responded = true;
      const statusCode = validStatus(res.statusCode);
      const retryAfterSeconds = parseRetryAfter(res.headers['retry-after'], now());
      const error: AttemptError | null = statusCode !== null && statusCode >= 200 && statusCode < 300 ? null : 'http';
      const chunks: Buffer[] = [];
      let received = 0;
      const body = () => lossyText(Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BODY_BYTES), received > MAX_RESPONSE_BODY_BYTES);
      res.on('data', (chunk: Buffer) => {
        if (received <= MAX_RESPONSE_BODY_BYTES) chunks.push(chunk);
        received += chunk.length;
        if (received > MAX_RESPONSE_BODY_BYTES) {
          // Enough: the rest is never read. Destroying the response closes the socket (it cannot
          // go back to the pool with an unread body), which is what we want for a flood.
          settle({ statusCode, error, responseBody: body(), retryAfterSeconds });
          res.destroy();
        }
      });
      res.on('end', () => settle({ statusCode, error, responseBody: body(), retryAfterSeconds }));
      // The connection failed before the body ended: the receiver may not have finished, so
      // this is not a success even after a 2xx status line (at-least-once: retrying is safe).
      res.on('error', (cause) => settle({ statusCode, error: classify(cause), responseBody: body(), retryAfterSeconds }));
      res.on('close', () => settle({ statusCode, error: 'connect', responseBody: body(), retryAfterSeconds }));
    });
    req.end(request.payload);
  });
}

/** The lookup hook: resolves through the policy's resolver and refuses non-public addresses. */
function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    void resolveAll(hostname, policy.lookup).then((resolved) => {
      const fail = (error: Error) => (callback as (error: Error) => void)(error);
      if (resolved instanceof Error) {
        fail(new DnsFailure(`${hostname} could not be resolved`, (resolved as NodeJS.ErrnoException).code));
        return;
      }
      if (!policy.allowPrivateNetworks && resolved.some(({ address }) => nonPublicReason(address) !== null)) {
        fail(new BlockedAddress(`${hostname} resolves to a non-public address`));
        return;
      }
      const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
      const addresses: LookupAddress[] = family === 0 ? resolved : resolved.filter((address) => address.family === family);
      const first = addresses[0];
      if (first === undefined) {
        fail(new DnsFailure(`${hostname} has no IPv${family} address`, 'ENODATA'));
      } else if (options.all) {
        callback(null, addresses);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

const DNS_CODES = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED_DNS', 'EREFUSED', 'ENONAME', 'EBADNAME']);

function classify(error: unknown): AttemptError {
  if (error instanceof BlockedAddress) return 'blocked';
  if (error instanceof AttemptTimeout) return 'timeout';
  if (error instanceof DnsFailure) return 'dns';
  const { code = '', library } = error as NodeJS.ErrnoException & { library?: string };
  if (DNS_CODES.has(code) || code.startsWith('EAI_')) return 'dns';
  if (
    library !== undefined ||
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    /CERT|_SIGNED_|UNABLE_TO_|SSL/.test(code)
  ) {
    return 'tls';
  }
  // ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, EPIPE, socket hang up, …
  return 'connect';
}

function failure(error: AttemptError): Outcome {
  return { statusCode: null, error, responseBody: null, retryAfterSeconds: null };
}

/** The contract's status_code is 100–599; a receiver answering 999 gets null (and 'http'). */
function validStatus(status: number | undefined): number | null {
  return status !== undefined && status >= 100 && status <= 599 ? status : null;
}

/**
 * UTF-8, lossy: invalid sequences become U+FFFD; a character cut by the size limit is dropped
 * (it was not received, it is not invalid). NUL becomes U+FFFD too, because PostgreSQL text
 * cannot store it and the body goes to the delivery log.
 */
function lossyText(bytes: Buffer, truncated: boolean): string {
  const decoder = new StringDecoder('utf8');
  const text = truncated ? decoder.write(bytes) : decoder.write(bytes) + decoder.end();
  return text.replaceAll('\u0000', '\uFFFD');
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // Only date-shaped values: Date.parse would also accept "5" or "-1" as years.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
