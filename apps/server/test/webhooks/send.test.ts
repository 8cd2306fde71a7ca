// One delivery attempt against real receivers (node:http servers on 127.0.0.1): what the
// delivery log records for each way a receiver can answer or fail, that redirects are never
// followed, that a flood of a response is cut at 4 KiB without being read, and that a name
// resolving to loopback is refused at connect time: the receiver never even sees a connection.
// Every request a receiver gets must verify with `standardwebhooks`, unmodified.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { newSigningSecret } from '../../src/webhooks/secret-box.ts';
import { type AttemptResult, closeIdleConnections, sendWebhook, type WebhookRequest } from '../../src/webhooks/send.ts';
import type { AddressPolicy, Lookup } from '../../src/webhooks/ssrf.ts';

type Received = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
type Receiver = { url: string; port: number; requests: Received[]; connections: number; closed: Promise<void>[]; close(): Promise<void> };
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

async function receiver(handler: Handler, server: http.Server = http.createServer()): Promise<Receiver> {
  const requests: Received[] = [];
  const closed: Promise<void>[] = [];
  const state = { connections: 0 };
  server.on('connection', (socket) => {
    state.connections++;
    // Not events.once: it rejects when the socket errors first (a reset is what some tests cause).
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  const self: Receiver = {
    url: `${scheme}://127.0.0.1:${port}/hooks/deals?x=1`,
    port,
    requests,
    closed,
    get connections() {
      return state.connections;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  open.push(self);
  return self;
}

const local: AddressPolicy = { allowPrivateNetworks: true };
const secret = newSigningSecret();
const eventId = 'evt_0193a7c2f1e47b0c8d2e5f6a7b8c9d0e';
const payload = JSON.stringify({
  id: eventId,
  type: 'deal.updated',
  timestamp: '2026-12-02T12:00:00.000Z',
  data: { object: { title: 'Café ☕' } },
});

function send(url: string, overrides: Partial<WebhookRequest> = {}): Promise<AttemptResult> {
  return sendWebhook({ url, eventId, payload, secrets: [secret], timeoutMs: 5000, policy: local, ...overrides });
}

/** What a receiver does with a delivery: verify it with standardwebhooks, unmodified. */
function verify(request: Received, withSecret = secret): unknown {
  return new Webhook(withSecret).verify(request.body, request.headers as Record<string, string>);
}

describe('sendWebhook', () => {
  it('200: success, with the Standard Webhooks headers, verified by standardwebhooks', async () => {
    const target = await receiver((_req, res) => res.end('ok'));
    const before = Date.now();
    const result = await send(target.url);
    expect(result).toMatchObject({ statusCode: 200, error: null, responseBody: 'ok', retryAfterSeconds: null });
    expect(result.attemptedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(5000);

    expect(target.requests).toHaveLength(1);
    const [request] = target.requests as [Received];
    expect(request).toMatchObject({ method: 'POST', url: '/hooks/deals?x=1', body: payload });
    expect(request.headers).toMatchObject({
      'webhook-id': eventId,
      'webhook-timestamp': String(Math.floor(result.attemptedAt.getTime() / 1000)),
      'content-type': 'application/json',
      'user-agent': 'Deals-Webhooks/1',
      'content-length': String(Buffer.byteLength(payload)),
    });
    expect(verify(request)).toEqual(JSON.parse(payload));
  });

  it('signs with every secret during a rotation: each verifies alone', async () => {
    const target = await receiver((_req, res) => res.end());
    const next = newSigningSecret();
    expect(await send(target.url, { secrets: [secret, next] })).toMatchObject({ statusCode: 200, error: null, responseBody: '' });
    const [request] = target.requests as [Received];
    expect(verify(request, secret)).toEqual(JSON.parse(payload));
    expect(verify(request, next)).toEqual(JSON.parse(payload));
    expect(() => verify(request, newSigningSecret())).toThrow(/No matching signature/);
  });

  it('takes the timestamp from the injected clock', async () => {
    const target = await receiver((_req, res) => res.end());
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const result = await send(target.url, { now: () => at });
    expect(result.attemptedAt).toEqual(at);
    const [request] = target.requests as [Received];
    expect(request.headers['webhook-timestamp']).toBe(String(at.getTime() / 1000));
    expect(verify(request)).toEqual(JSON.parse(payload));
  });

  it("500: 'http' with the status and the body kept; the request verified", async () => {
    const target = await receiver((_req, res) => {
      res.statusCode = 500;
      res.end('Internal Server Error');
    });
    expect(await send(target.url)).toMatchObject({
      statusCode: 500,
      error: 'http',
      responseBody: 'Internal Server Error',
      retryAfterSeconds: null,
    });
    expect(verify(target.requests[0]!)).toEqual(JSON.parse(payload));
  });

  it("a receiver slower than the timeout: 'timeout', the socket aborted", async () => {
    const target = await receiver(() => {}); // reads the request, never answers
    const started = Date.now();
    const result = await send(target.url, { timeoutMs: 300 });
    expect(result).toMatchObject({ statusCode: null, error: 'timeout', responseBody: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(verify(target.requests[0]!)).toEqual(JSON.parse(payload));
    await Promise.all(target.closed); // we closed the connection: the receiver saw it go
  });

  it("a response whose body trickles past the timeout: 'timeout' (the whole attempt counts)", async () => {
    const target = await receiver((_req, res) => {
      res.writeHead(200);
      res.write('still ');
      const ticker = setInterval(() => res.write('working '), 50);
      res.on('close', () => clearInterval(ticker));
    });
    const result = await send(target.url, { timeoutMs: 300 });
    expect(result).toMatchObject({ error: 'timeout' });
    expect(result.durationMs).toBeLessThan(3000);
    await Promise.all(target.closed);
  });

  it('429 with Retry-After in seconds, and as an HTTP date', async () => {
    const seconds = await receiver((_req, res) => {
      res.writeHead(429, { 'retry-after': '120' });
      res.end('slow down');
    });
    expect(await send(seconds.url)).toMatchObject({ statusCode: 429, error: 'http', retryAfterSeconds: 120, responseBody: 'slow down' });
    expect(verify(seconds.requests[0]!)).toEqual(JSON.parse(payload));

    const date = await receiver((_req, res) => {
      res.writeHead(429, { 'retry-after': new Date(Date.now() + 90_000).toUTCString() });
      res.end();
    });
    const result = await send(date.url);
    expect(result).toMatchObject({ statusCode: 429, error: 'http' });
    expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(88);
    expect(result.retryAfterSeconds).toBeLessThanOrEqual(90);
  });

  it("410: 'http' with status 410 (the worker disables the endpoint)", async () => {
    const target = await receiver((_req, res) => {
      res.statusCode = 410;
      res.end('gone');
    });
    expect(await send(target.url)).toMatchObject({ statusCode: 410, error: 'http', responseBody: 'gone' });
    expect(verify(target.requests[0]!)).toEqual(JSON.parse(payload));
  });

  it("a 302 to an internal address is not followed: 'http', and the Location's receiver gets nothing", async () => {
    const internal = await receiver((_req, res) => res.end('secret metadata'));
    const redirecting = await receiver((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/latest/meta-data/` });
      res.end();
    });
    expect(await send(redirecting.url)).toMatchObject({ statusCode: 302, error: 'http', responseBody: '' });
    expect(verify(redirecting.requests[0]!)).toEqual(JSON.parse(payload));
    expect(internal.connections).toBe(0);
    expect(internal.requests).toEqual([]);
  });

  it("connection refused (a closed port): 'connect', no status", async () => {
    const target = await receiver(() => {});
    const { url } = target;
    await target.close();
    const result = await send(url);
    expect(result).toMatchObject({ statusCode: null, error: 'connect', responseBody: null, retryAfterSeconds: null });
  });

  it('a 1 MB response: 4096 bytes kept, quickly', async () => {
    const target = await receiver((_req, res) => res.end('x'.repeat(1024 * 1024)));
    const result = await send(target.url);
    expect(result).toMatchObject({ statusCode: 200, error: null, responseBody: 'x'.repeat(4096) });
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('an endless response: we stop reading at 4 KiB and close the connection (nothing is buffered)', async () => {
    const target = await receiver((_req, res) => {
      res.writeHead(503, { 'retry-after': '30' });
      const chunk = '€'.repeat(1000); // 3 bytes each: the cut falls inside a character
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
      };
      res.on('drain', pump);
      pump();
    });
    const result = await send(target.url, { timeoutMs: 10_000 });
    // 1365 whole characters are 4095 bytes; the cut one is dropped, not turned into U+FFFD.
    expect(result).toMatchObject({ statusCode: 503, error: 'http', retryAfterSeconds: 30, responseBody: '€'.repeat(1365) });
    expect(result.durationMs).toBeLessThan(2000);
    await Promise.all(target.closed);
  });

  it('an invalid UTF-8 and NUL body is kept lossily (storable in PostgreSQL text)', async () => {
    const target = await receiver((_req, res) => res.end(Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0x21])));
    expect(await send(target.url)).toMatchObject({ statusCode: 200, responseBody: 'ok\uFFFD\uFFFD!' });
  });

  it('reuses kept-alive connections across deliveries', async () => {
    const target = await receiver((_req, res) => res.end('ok'));
    for (let i = 0; i < 5; i++) expect(await send(target.url)).toMatchObject({ error: null });
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => send(target.url)));
    expect(concurrent.every((result) => result.error === null)).toBe(true);
    expect(target.requests).toHaveLength(25);
    expect(target.connections).toBeLessThanOrEqual(20);
    for (const request of target.requests) expect(verify(request)).toEqual(JSON.parse(payload));

    // closeIdleConnections (for shutdown) closes them; the next delivery opens a new one.
    const connected = target.connections;
    closeIdleConnections();
    await Promise.all(target.closed);
    expect(await send(target.url)).toMatchObject({ error: null });
    expect(target.connections).toBe(connected + 1);
  });

  describe('names and addresses, checked at connect time', () => {
    const loopbackResolver: Lookup = async () => [{ address: '127.0.0.1', family: 4 }];

    it("a name resolving to 127.0.0.1 (injected resolver), private networks not allowed: 'blocked', no connection", async () => {
      const target = await receiver((_req, res) => res.end('ok'));
      // https, as the strict policy requires; the receiver never gets far enough to notice.
      const result = await send(`https://hooks.partner.example:${target.port}/hooks`, {
        policy: { allowPrivateNetworks: false, lookup: loopbackResolver },
      });
      expect(result).toMatchObject({ statusCode: null, error: 'blocked', responseBody: null });
      expect(target.connections).toBe(0);
      expect(target.requests).toEqual([]);
    });

    it("a name with one loopback address among public ones: 'blocked'", async () => {
      const target = await receiver((_req, res) => res.end('ok'));
      const lookup: Lookup = async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
      expect(
        await send(`https://hooks.partner.example:${target.port}/`, { policy: { allowPrivateNetworks: false, lookup } }),
      ).toMatchObject({ error: 'blocked' });
      expect(target.connections).toBe(0);
    });

    it("a literal loopback address, or http, under the strict policy: 'blocked', no connection", async () => {
      const target = await receiver((_req, res) => res.end('ok'));
      const strict: AddressPolicy = { allowPrivateNetworks: false, lookup: loopbackResolver };
      expect(await send(`https://127.0.0.1:${target.port}/`, { policy: strict })).toMatchObject({ error: 'blocked' });
      expect(await send(`https://[::ffff:127.0.0.1]:${target.port}/`, { policy: strict })).toMatchObject({ error: 'blocked' });
      expect(await send(`https://2130706433:${target.port}/`, { policy: strict })).toMatchObject({ error: 'blocked' });
      expect(await send(`http://8.8.8.8:${target.port}/`, { policy: strict })).toMatchObject({ error: 'blocked' });
      expect(await send(`https://user:pw@8.8.8.8:${target.port}/`, { policy: strict })).toMatchObject({ error: 'blocked' });
      expect(target.connections).toBe(0);
    });

    it('the same name is delivered when private networks are allowed (through the injected resolver)', async () => {
      const target = await receiver((_req, res) => res.end('ok'));
      const result = await send(`http://hooks.partner.example:${target.port}/in`, {
        policy: { allowPrivateNetworks: true, lookup: loopbackResolver },
      });
      expect(result).toMatchObject({ statusCode: 200, error: null });
      expect(target.requests[0]!.headers.host).toBe(`hooks.partner.example:${target.port}`);
      expect(verify(target.requests[0]!)).toEqual(JSON.parse(payload));
    });

    it("a name that does not resolve: 'dns' (and so does a resolver with no answer)", async () => {
      const fails: Lookup = async (hostname) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      };
      expect(await send('https://nowhere.example/', { policy: { allowPrivateNetworks: false, lookup: fails } })).toMatchObject({
        statusCode: null,
        error: 'dns',
      });
      expect(await send('http://nowhere.example/', { policy: { allowPrivateNetworks: true, lookup: async () => [] } })).toMatchObject({
        error: 'dns',
      });
      // The real resolver: .invalid never resolves (RFC 6761); a resolver that hangs gives up after 5 s.
      expect(await send('http://nowhere.invalid/', { policy: { allowPrivateNetworks: true }, timeoutMs: 8000 })).toMatchObject({
        error: 'dns',
      });
    });
  });

  describe('TLS', () => {
    it("a receiver with a certificate we do not trust (self-signed): 'tls', nothing delivered", async () => {
      const server = https.createServer({ key: TEST_KEY, cert: TEST_CERT });
      const target = await receiver((_req, res) => res.end('ok'), server);
      const result = await send(target.url);
      expect(result).toMatchObject({ statusCode: null, error: 'tls', responseBody: null });
      expect(target.requests).toEqual([]);
    });

    it("https to a plain-http port: 'tls'", async () => {
      const target = await receiver((_req, res) => res.end('ok'));
      expect(await send(target.url.replace('http:', 'https:'))).toMatchObject({ statusCode: null, error: 'tls' });
      expect(target.requests).toEqual([]);
    });
  });
});

afterAll(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

// A self-signed certificate for 127.0.0.1 (valid until 2126), made for this test only with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
// -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost`. It protects nothing.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9nBn5+84MFaB1E5S
dTFT4hw+Yky3Q1QvEs496m/VnymhRANCAAQVw4m9BSyaiOWONxvaKKsgglphjPN3
/NRT7fVvgNtn9oTDhgWXQGlU6zc1EfsUFSv58XaHpd9yR2fOqzhfMoUp
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUfdExYajanY4DGVaP5Tj5qXQWsDMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMjEyMDkzN1oYDzIxMjYxMTA4
MTIwOTM3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQVw4m9BSyaiOWONxvaKKsgglphjPN3/NRT7fVvgNtn9oTDhgWXQGlU
6zc1EfsUFSv58XaHpd9yR2fOqzhfMoUpo28wbTAdBgNVHQ4EFgQUtVsCCB+kjvOL
qcqCpSVN3bKUJhkwHwYDVR0jBBgwFoAUtVsCCB+kjvOLqcqCpSVN3bKUJhkwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIhAM9/4s7iPviQpvGN7+DFgHhvkhscjgkrRZ+LA7u/ECf4AiAk
Uc8FOpCHYOQiJCwdl+W04uh20UCYsjXLRyGkgS5diQ==
-----END CERTIFICATE-----
`;
