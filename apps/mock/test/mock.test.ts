// What the mock promises frontend teams beyond the shared contract suite: the contract's own
// examples, byte for byte, at the same URLs as the real server, and a mock that cleans up.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contractValidator } from '@deals/contract-suite/contract-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningMock, startMock } from '../src/start-mock.ts';

const contract = contractValidator();
const referenceRequest = contract.requestExample('createDeal', 'reference');
const referenceResponse = contract.example('ReferenceDeal') as { department_id: string };
const auth = { 'X-Api-Key': 'mock-key', 'X-Department-Id': referenceResponse.department_id };

/** The value of a named example of a shared error response (components/responses). */
function errorExample(response: string, name: string): unknown {
  const responses = (
    contract.document.components as Record<
      string,
      Record<string, { content: Record<string, { examples: Record<string, { value: unknown }> }> }>
    >
  ).responses;
  return responses?.[response]?.content['application/problem+json']?.examples[name]?.value;
}

let mock: RunningMock;
beforeAll(async () => {
  mock = await startMock();
});
afterAll(() => mock?.stop());

const postDeal = (body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${mock.baseUrl}/deals`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('createDeal on the mock', () => {
  it('201: answers the reference request with exactly the reference response', async () => {
    const response = await postDeal(referenceRequest);

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(await response.json()).toEqual(referenceResponse);
  });

  it('401: without X-Api-Key and X-Department-Id, the contract’s Unauthorized example', async () => {
    const response = await postDeal(referenceRequest, {});

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
    expect(await response.json()).toEqual(errorExample('Unauthorized', 'missingKey'));
  });

  it('401: with only one of the two headers (the contract requires both)', async () => {
    const withoutDepartment = await postDeal(referenceRequest, { 'X-Api-Key': 'mock-key' });
    const withoutKey = await postDeal(referenceRequest, { 'X-Department-Id': referenceResponse.department_id });

    expect([withoutDepartment.status, withoutKey.status]).toEqual([401, 401]);
  });

  it('422: a customer without last_name gets the ValidationFailed example, the violation in sl-violations', async () => {
    const response = await postDeal({ name: 'Example Dealname', customers: [{ first_name: 'John' }] });

    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
    expect(await response.json()).toEqual(errorExample('ValidationFailed', 'missingLastName'));
    // Prism's own header: what a frontend developer reads to see which field was wrong.
    expect(JSON.parse(response.headers.get('sl-violations') ?? '[]')).toEqual([
      expect.objectContaining({ location: ['request', 'body', 'customers', '0'], message: expect.stringContaining('last_name') }),
    ]);
  });

  it('422: a property the schema does not list (server-managed id)', async () => {
    const response = await postDeal({ ...(referenceRequest as object), id: referenceResponse.department_id });

    expect(response.status).toBe(422);
  });
});

describe('events and webhook endpoints on the mock', () => {
  const json = { ...auth, 'Content-Type': 'application/json' };

  it('answers GET /events with the EventPage example, and the empty page with Prefer: example=nothingNew', async () => {
    const page = await fetch(`${mock.baseUrl}/events?types=deal.created`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.json()).toEqual(contract.example('EventPage'));

    const nothingNew = await fetch(`${mock.baseUrl}/events`, { headers: { ...auth, Prefer: 'example=nothingNew' } });
    expect(await nothingNew.json()).toMatchObject({ data: [], has_more: false });
  });

  it('creates a webhook endpoint from the example, secret included, whatever URL was sent (no URL policy)', async () => {
    const response = await fetch(`${mock.baseUrl}/webhook-endpoints`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hooks', enabled_events: ['*'] }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual(contract.example('WebhookEndpointWithSecret'));
  });

  it('ignores the webhooks section: an event type is no route', async () => {
    const response = await fetch(`${mock.baseUrl}/deal.created`, { method: 'POST', headers: json, body: '{}' });
    expect(response.status).toBe(404);
  });
});

describe('base path', () => {
  it('serves the contract under servers[0].url, like the real server, and nothing at the root', async () => {
    const origin = new URL(mock.baseUrl).origin;

    expect(new URL(mock.baseUrl).pathname).toBe(contract.basePath);
    expect((await fetch(`${mock.baseUrl}/steps`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${origin}/steps`, { headers: auth })).status).toBe(404);
  });
});

describe('watch', () => {
  it('serves an edit of the contract without a restart', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'deals-mock-test-'));
    const contractPath = join(directory, 'deals.yaml');
    const document = structuredClone(contract.document) as {
      components: { examples: { ReferenceDeal: { value: { id: string; name: string } } } };
    };
    writeFileSync(contractPath, stringify(document));
    const watched = await startMock({ contractPath, watch: true });
    try {
      const deal = document.components.examples.ReferenceDeal.value;
      const readName = async () => {
        const response = await fetch(`${watched.baseUrl}/deals/${deal.id}`, { headers: auth });
        return ((await response.json()) as { name?: string }).name;
      };
      expect(await readName()).toBe(deal.name);

      deal.name = 'Renamed while the mock runs';
      writeFileSync(contractPath, stringify(document));

      await expect.poll(readName, { timeout: 20_000, interval: 250 }).toBe('Renamed while the mock runs');
    } finally {
      await watched.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

// Prism runs inside the process that calls startMock, so no mock can outlive it; the child-process
// version needed a test that SIGKILLed its parent, this one does not.
describe('lifecycle', () => {
  it('picks a free port per mock and stop() closes it', async () => {
    const second = await startMock();
    expect(second.baseUrl).not.toBe(mock.baseUrl);
    expect((await fetch(`${second.baseUrl}/employees`, { headers: auth })).status).toBe(200);

    await second.stop();

    await expect(fetch(`${second.baseUrl}/employees`, { headers: auth })).rejects.toThrow();
    await expect(second.stop()).resolves.toBeUndefined();
  });

  it('fails with Prism’s own words when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(startMock({ port })).rejects.toThrow(/Prism could not listen .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('`npm run mock` (src/main.ts) honours MOCK_PORT and MOCK_HOST and stops on SIGTERM', async () => {
    const port = await freePort();
    // node --import tsx is what `tsx src/main.ts` runs, without tsx's extra relay process.
    const main = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../src/main.ts', import.meta.url))], {
      env: { ...process.env, MOCK_PORT: String(port), MOCK_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const baseUrl = await new Promise<string>((resolve, reject) => {
        let output = '';
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /serving openapi\/deals\.yaml at (\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        };
        main.stdout.on('data', onData);
        main.stderr.on('data', onData);
        main.once('exit', (code) => reject(new Error(`main exited (${code}) before serving:\n${output}`)));
      });
      expect(baseUrl).toBe(`http://127.0.0.1:${port}${contract.basePath}`);
      expect((await fetch(`${baseUrl}/steps`, { headers: auth })).status).toBe(200);

      main.kill('SIGTERM');
      const [code] = (await once(main, 'exit')) as [number | null];

      expect(code).toBe(0);
      await expect(fetch(`${baseUrl}/steps`, { headers: auth })).rejects.toThrow();
    } finally {
      if (main.exitCode === null && main.signalCode === null) main.kill('SIGKILL');
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
