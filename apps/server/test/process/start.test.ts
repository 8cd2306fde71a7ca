// start(config), which `npm start` runs, called in this process: the database it picks, the
// demo tenant it seeds once, and close(), which stops what it started.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath } from '../../src/contract.ts';
import { freePort } from '../support/free-port.ts';
import { printedDemo } from '../support/process.ts';
import { startServer } from '../support/running-server.ts';

describe('start() without DATABASE_URL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deals-embedded-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('runs on an embedded PostgreSQL in DATA_DIR, seeds a demo tenant once, and keeps its data across restarts', async () => {
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
    const first = await startServer(env);
    const demo = printedDemo(first.printed());
    const headers = { 'X-Api-Key': demo.apiKey, 'X-Department-Id': demo.departmentId, 'Content-Type': 'application/json' };
    expect(first.printed()).toContain(`curl -X POST http://localhost:${first.port}${basePath}/deals`);
    const created = await fetch(`${first.origin}${basePath}/deals`, { method: 'POST', headers, body: demo.curlBody });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    expect((await fetch(`${first.origin}/readyz`)).status).toBe(200);
    await first.close();
    // close() closed the listener and stopped the PostgreSQL that start() started.
    await expect(fetch(`${first.origin}/healthz`)).rejects.toThrow();
    await expect(connects(Number(env.EMBEDDED_PG_PORT))).resolves.toBe(false);
    expect(first.logs.lines().map((l) => l.msg)).toContain('stopped');

    const second = await startServer(env);
    try {
      expect(second.printed()).toBe('');
      const read = await fetch(`${second.origin}${basePath}/deals/${id}`, { headers });
      expect(read.status).toBe(200);
    } finally {
      await second.close();
    }
  }, 120_000);
});

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
