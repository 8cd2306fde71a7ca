import { afterEach, describe, expect, it } from 'vitest';
import { createDealsClient, DealsApiError, type RetryOptions, unwrap } from '../src/index.ts';
import { referenceDeal, referenceRequest } from './support/contract-examples.ts';
import { type Handler, json, problem, startTestServer, type TestServer } from './support/test-server.ts';

const dealId = referenceDeal.id;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client against a fresh test server; sleeps are recorded instead of waited. */
async function setup(handler: Handler, retry: Omit<RetryOptions, 'sleep'> = {}, keys: string[] = []) {
  server = await startTestServer(handler);
  const sleeps: number[] = [];
  let keyCount = 0;
  const client = createDealsClient({
    baseUrl: server.baseUrl,
    apiKey: 'test-key',
    departmentId: referenceDeal.department_id,
    retry: { random: () => 0.5, ...retry, sleep: async (ms) => void sleeps.push(ms) },
    idempotencyKey: () => keys[keyCount++] ?? `generated-${keyCount}`,
  });
  return { client, sleeps, requests: server.requests };
}

const createReferenceDeal = (client: ReturnType<typeof createDealsClient>) => client.POST('/deals', { body: referenceRequest });

describe('retries', () => {
  it('retries a POST after 503 with the same Idempotency-Key and body on every attempt', async () => {
    const { client, sleeps, requests } = await setup(
      (_req, res, i) => {
        if (i === 0) return json(res, 503, problem(503, 'Service unavailable'), { 'Retry-After': '1' });
        if (i === 1) return json(res, 503, problem(503, 'Service unavailable'));
        json(res, 201, referenceDeal);
      },
      { baseDelayMs: 100 },
      ['key-of-this-call'],
    );

    const deal = unwrap(await createReferenceDeal(client));

    expect(deal).toEqual(referenceDeal);
    expect(requests.map((r) => r.headers['idempotency-key'])).toEqual(['key-of-this-call', 'key-of-this-call', 'key-of-this-call']);
    expect(new Set(requests.map((r) => r.body))).toEqual(new Set([JSON.stringify(referenceRequest)]));
    // First wait is the server's Retry-After (1 s); the second is jittered backoff: 0.5 * 100 * 2^1.
    expect(sleeps).toEqual([1000, 100]);
  });

  it('gives every POST call its own key and keeps a key the caller set', async () => {
    const { client, requests } = await setup((_req, res) => json(res, 201, referenceDeal), {}, ['first', 'second']);

    await createReferenceDeal(client);
    await createReferenceDeal(client);
    await client.POST('/deals', { body: referenceRequest, params: { header: { 'Idempotency-Key': 'callers-own' } } });
    await client.GET('/deals/{deal_id}', { params: { path: { deal_id: dealId } } });

    expect(requests.map((r) => r.headers['idempotency-key'])).toEqual(['first', 'second', 'callers-own', undefined]);
  });

  it('uses a time-ordered UUIDv7 for keys by default', async () => {
    server = await startTestServer((_req, res) => json(res, 201, referenceDeal));
    const client = createDealsClient({ baseUrl: server.baseUrl, apiKey: 'k', departmentId: 'd' });

    await createReferenceDeal(client);
    await createReferenceDeal(client);

    const [first, second] = server.requests.map((r) => r.headers['idempotency-key']);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second).not.toBe(first);
  });

  it('honours Retry-After on 429 for any method, capped by maxDelayMs', async () => {
    const { client, sleeps, requests } = await setup(
      (_req, res, i) => {
        if (i === 0) return json(res, 429, problem(429, 'Too many requests'), { 'Retry-After': '120' });
        json(res, 200, referenceDeal);
      },
      { maxDelayMs: 5_000 },
    );

    const result = await client.PATCH('/deals/{deal_id}', { params: { path: { deal_id: dealId } }, body: { volume: 1 } });

    expect(result.response.status).toBe(200);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.body).toBe('{"volume":1}');
    expect(sleeps).toEqual([5_000]);
  });

  it('backs off exponentially with jitter up to maxDelayMs, then returns the last answer', async () => {
    const { client, sleeps, requests } = await setup((_req, res) => json(res, 503, problem(503, 'Service unavailable')), {
      retries: 4,
      baseDelayMs: 100,
      maxDelayMs: 500,
      random: () => 0.999,
    });

    const result = await client.GET('/steps');

    expect(requests).toHaveLength(5);
    expect(sleeps).toEqual([99, 199, 399, 499]);
    expect(result.response.status).toBe(503);
    expect(result.error).toMatchObject({ status: 503, title: 'Service unavailable' });
  });

  it('draws each wait uniformly below the backoff ceiling (full jitter)', async () => {
    const { client, sleeps } = await setup((_req, res) => json(res, 503, problem(503, 'Service unavailable')), {
      retries: 2,
      baseDelayMs: 1_000,
      random: () => 0,
    });

    await client.GET('/employees');

    expect(sleeps).toEqual([0, 0]);
  });

  it('defaults to 3 retries', async () => {
    const { client, requests } = await setup((_req, res) => json(res, 503, problem(503, 'Service unavailable')));

    await client.GET('/employees');

    expect(requests).toHaveLength(4);
  });

  it('retries 409 (same key still running) only for requests that carry an Idempotency-Key', async () => {
    const { client, requests } = await setup((req, res) => {
      const earlier = server?.requests.filter((r) => r.method === req.method).length ?? 0;
      if (earlier === 1) return json(res, 409, problem(409, 'Idempotency key in use'), { 'Retry-After': '0' });
      json(res, req.method === 'POST' ? 201 : 200, referenceDeal);
    });

    const created = await createReferenceDeal(client);
    const read = await client.GET('/deals/{deal_id}', { params: { path: { deal_id: dealId } } });

    expect(created.response.status).toBe(201);
    expect(read.response.status).toBe(409);
    expect(requests.map((r) => r.method)).toEqual(['POST', 'POST', 'GET']);
  });

  it('does not retry answers that will not change, such as 422', async () => {
    const { client, requests, sleeps } = await setup((_req, res) =>
      json(res, 422, { ...problem(422, 'Validation error'), errors: { name: ['required'] } }),
    );

    const result = await client.POST('/deals', { body: { name: '' } });

    expect(result.error?.errors).toEqual({ name: ['required'] });
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries network errors for GET and POST (idempotent by key) but not for PATCH or DELETE', async () => {
    const dropFirstOfEachMethod: Handler = (req, res) => {
      if (server?.requests.filter((r) => r.method === req.method).length === 1) return 'drop';
      if (req.method === 'DELETE') return void res.writeHead(204).end();
      json(res, req.method === 'POST' ? 201 : 200, referenceDeal);
    };
    const { client, requests } = await setup(dropFirstOfEachMethod);
    const byId = { params: { path: { deal_id: dealId } } };

    expect((await client.GET('/deals/{deal_id}', byId)).response.status).toBe(200);
    expect((await createReferenceDeal(client)).response.status).toBe(201);
    await expect(client.PATCH('/deals/{deal_id}', { ...byId, body: { volume: 2 } })).rejects.toThrow(TypeError);
    await expect(client.DELETE('/deals/{deal_id}', byId)).rejects.toThrow(TypeError);

    expect(requests.map((r) => r.method)).toEqual(['GET', 'GET', 'POST', 'POST', 'PATCH', 'DELETE']);
  });

  it('stops waiting when the caller aborts, with the caller’s AbortError', async () => {
    let answered!: () => void;
    const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
    server = await startTestServer((_req, res) => {
      json(res, 503, problem(503, 'Service unavailable'), { 'Retry-After': '60' });
      answered();
    });
    const client = createDealsClient({ baseUrl: server.baseUrl, apiKey: 'k', departmentId: 'd', retry: { maxDelayMs: 60_000 } });
    const controller = new AbortController();
    const started = Date.now();

    const call = client.GET('/steps', { signal: controller.signal });
    // Abort once the first try has been answered: the client is then reading the 503 or
    // waiting out its Retry-After of 60 s, and either way must stop.
    await firstAnswer;
    controller.abort();

    await expect(call).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(1);
  });

  it('sends each request exactly once with retry: false', async () => {
    server = await startTestServer((_req, res) => json(res, 503, problem(503, 'Service unavailable')));
    const client = createDealsClient({ baseUrl: server.baseUrl, apiKey: 'k', departmentId: 'd', retry: false });

    await client.GET('/steps');

    expect(server.requests).toHaveLength(1);
  });

  it('retries through an injected fetch, which sees a fresh Request per attempt', async () => {
    server = await startTestServer((_req, res, i) =>
      i === 0 ? json(res, 503, problem(503, 'Service unavailable')) : json(res, 201, referenceDeal),
    );
    const seen: Request[] = [];
    const client = createDealsClient({
      baseUrl: server.baseUrl,
      apiKey: 'k',
      departmentId: 'd',
      retry: { sleep: async () => {} },
      fetch: (request) => {
        seen.push(request);
        return fetch(request);
      },
    });

    await createReferenceDeal(client);

    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
    expect(seen.map((r) => r.headers.get('Idempotency-Key'))).toEqual([
      seen[0]?.headers.get('Idempotency-Key'),
      seen[0]?.headers.get('Idempotency-Key'),
    ]);
  });
});

describe('authentication headers', () => {
  it('sends X-Api-Key and X-Department-Id on every attempt; one call may override the department', async () => {
    const { client, requests } = await setup((_req, res, i) =>
      i === 0 ? json(res, 503, problem(503, 'Service unavailable')) : json(res, 200, { data: [], next_cursor: null }),
    );
    const otherDepartment = '019c19a9-34be-71d1-9152-100d38b983ac';

    await client.GET('/steps');
    await client.GET('/steps', { headers: { 'X-Department-Id': otherDepartment } });

    expect(requests.map((r) => [r.url, r.headers['x-api-key'], r.headers['x-department-id']])).toEqual([
      ['/api/v1/integration/steps', 'test-key', referenceDeal.department_id],
      ['/api/v1/integration/steps', 'test-key', referenceDeal.department_id],
      ['/api/v1/integration/steps', 'test-key', otherDepartment],
    ]);
  });
});

describe('unwrap', () => {
  it('returns the data of a success and undefined for 204', async () => {
    const { client } = await setup((req, res) => (req.method === 'DELETE' ? void res.writeHead(204).end() : json(res, 200, referenceDeal)));

    expect(unwrap(await client.GET('/deals/{deal_id}', { params: { path: { deal_id: dealId } } }))).toEqual(referenceDeal);
    expect(unwrap(await client.DELETE('/deals/{deal_id}', { params: { path: { deal_id: dealId } } }))).toBeUndefined();
  });

  it('throws DealsApiError carrying the status and the problem', async () => {
    const notFound = problem(404, 'Not found');
    const { client } = await setup((_req, res) => json(res, 404, notFound));

    const error = await client
      .GET('/deals/{deal_id}', { params: { path: { deal_id: dealId } } })
      .then(unwrap)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DealsApiError);
    expect(error).toMatchObject({
      name: 'DealsApiError',
      status: 404,
      problem: notFound,
      message: '404 Not found: Not found (test server)',
    });
  });

  it('throws DealsApiError without a problem when something else answered', async () => {
    const { client } = await setup((_req, res) => void res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));

    const error = await client
      .GET('/steps')
      .then(unwrap)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DealsApiError);
    expect(error).toMatchObject({ status: 502, problem: undefined, body: '<h1>Bad gateway</h1>' });
  });
});
