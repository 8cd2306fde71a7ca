// Single requests to the server under test over a keep-alive agent (node:http: less CPU per
// request than fetch, which matters when the bench process also receives the webhooks), with
// the moment the response was complete on the bench's performance.now() clock.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export type Reply = { status: number; headers: http.IncomingHttpHeaders; body: string; sentAt: number; at: number };

export function keepAliveAgent(maxSockets = 64): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

export function call(
  agent: http.Agent,
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing to call ${origin}: the bench only targets 127.0.0.1`);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sentAt = performance.now();
    const req = http.request(
      `${origin}${path}`,
      {
        agent,
        method,
        headers: {
          ...headers,
          ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            sentAt,
            at: performance.now(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} took longer than 30 s`)));
    req.end(text);
  });
}

/** The reply's JSON when its status is `expected`, else an error that shows what came back. */
export function expectJson<T>(reply: Reply, expected: number, what: string): T {
  if (reply.status !== expected) throw new Error(`${what} answered ${reply.status} (expected ${expected}): ${reply.body.slice(0, 1000)}`);
  return JSON.parse(reply.body) as T;
}
