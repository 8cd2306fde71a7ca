import { it } from 'vitest';
import { pino } from 'pino';
import { seedWorld } from '../support/fixtures.ts';
import { client } from '../support/http.ts';
import { startTestServer } from '../support/server.ts';

it('probe', async () => {
  const errors: any[] = [];
  const log = pino({ level: 'error' }, { write: (s: string) => { errors.push(JSON.parse(s)); } });
  const server = await startTestServer({ log });
  const world = await seedWorld(server.db);
  const call = client(server.baseUrl, { apiKey: world.apiKey, departmentId: world.department.id });
  for (const path of ['/deals?q=%00', '/deals?updated_since=0000-01-01T00:00:00Z', '/customers?email=%00']) {
    const r = await call('GET', path);
    console.log(path, r.status, JSON.stringify(errors.at(-1)?.err).slice(0, 1500));
  }
  const r = await call('POST', '/customers', { body: { last_name: 'x', birthday: '0000-01-01' } });
  console.log(r.status, JSON.stringify(errors.at(-1)?.err).slice(0, 1500));
  await server.close();
}, 60000);
