// One load run with autocannon: a fixed number of keep-alive connections for a fixed time,
// summarised as what the report needs. Only 127.0.0.1 is ever a target.
import autocannon, { type Request } from 'autocannon';

export type LoadSpec = {
  method: 'GET' | 'POST';
  /** A fixed path, or one per request. */
  path: string | (() => string);
  headers: Record<string, string>;
  body?: string;
  /** Extra headers per request (e.g. a fresh Idempotency-Key). */
  perRequestHeaders?: () => Record<string, string>;
};

export type LoadResult = {
  /** 2xx responses per second over the run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Status code → count, for everything that was not 2xx. */
  badStatuses: Record<string, number>;
};

export async function runLoad(origin: string, spec: LoadSpec, seconds: number, connections: number): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing to load ${origin}: the bench only targets 127.0.0.1`);
  const dynamic = typeof spec.path === 'function' || spec.perRequestHeaders !== undefined;
  const request: Request = {
    method: spec.method,
    path: typeof spec.path === 'string' ? spec.path : spec.path(),
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(dynamic
      ? {
          setupRequest: (req: Request) => ({
            ...req,
            path: typeof spec.path === 'function' ? spec.path() : req.path,
            headers: { ...req.headers, ...spec.perRequestHeaders?.() },
          }),
        }
      : {}),
  };
  const result = await autocannon({ url: origin, connections, duration: seconds, timeout: 10, requests: [request] });
  const badStatuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    if (!code.startsWith('2')) badStatuses[code] = Number(count);
  }
  return {
    rps: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    badStatuses,
  };
}
