import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/integration/deals?limit=2`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  /** The API base the client is given: the contract's base path on this server. */
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** What a handler does with one request: answer it, or drop the connection to cause a network error. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers are arrow functions whose body is a res.end() call
export type Handler = (request: RecordedRequest, response: ServerResponse, index: number) => void | 'drop';

/**
 * A real HTTP server on 127.0.0.1 with an ephemeral port, recording every request, so the client
 * is tested through real sockets and undici rather than a mocked fetch.
 */
export async function startTestServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      if (handler(recorded, res, requests.length - 1) === 'drop') req.socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1/integration`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // fetch keeps connections alive; close them or server.close() would wait for their timeout.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const contentType = status >= 400 ? 'application/problem+json' : 'application/json';
  res.writeHead(status, { 'content-type': contentType, ...headers }).end(JSON.stringify(body));
}

export function problem(status: number, title: string): Record<string, unknown> {
  return {
    type: 'https://deals-api.dev/problems/test',
    title,
    status,
    detail: `${title} (test server)`,
    instance: '/api/v1/integration/deals',
    message: title,
  };
}
