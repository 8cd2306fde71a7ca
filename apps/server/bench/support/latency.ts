// Latency of one request shape, measured one request at a time over one keep-alive
// connection, so that a percentile is the cost of the request itself, not of queueing.
import http from 'node:http';
import { percentile } from './report.ts';

export type LatencyResult = { p50Ms: number; p99Ms: number; samples: number; badStatuses: Record<string, number> };

type Reply = { status: number; body: string };

function get(agent: http.Agent, origin: string, path: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${origin}${path}`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path} took longer than 30 s`)));
  });
}

export async function measureLatency(
  origin: string,
  path: () => string,
  headers: Record<string, string>,
  options: { warmup: number; samples: number; check?: (body: string) => string | undefined },
): Promise<LatencyResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing to call ${origin}: the bench only targets 127.0.0.1`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const badStatuses: Record<string, number> = {};
  try {
    for (let i = 0; i < options.warmup + options.samples; i++) {
      const p = path();
      const t0 = process.hrtime.bigint();
      const reply = await get(agent, origin, p, headers);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (reply.status !== 200) {
        badStatuses[reply.status] = (badStatuses[reply.status] ?? 0) + 1;
        if (Object.values(badStatuses).reduce((a, b) => a + b, 0) === 1) {
          console.error(`!!! GET ${p} answered ${reply.status}: ${reply.body.slice(0, 500)}`);
        }
        continue;
      }
      if (i === 0 && options.check) {
        const problem = options.check(reply.body);
        if (problem) throw new Error(`GET ${p}: ${problem}`);
      }
      if (i >= options.warmup) times.push(ms);
    }
  } finally {
    agent.destroy();
  }
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), samples: times.length, badStatuses };
}
