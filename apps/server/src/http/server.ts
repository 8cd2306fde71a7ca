// The HTTP server around the app, shared by start.ts and the tests so both answer the same
// way even to requests that never reach Express.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import { uuidv7 } from '../ids.ts';
import { ApiProblem } from '../problems.ts';

/**
 * Requests Node rejects while parsing (a request head over 16 KB, e.g. 10,000 query
 * parameters; malformed HTTP) would get a bare status line; they get a problem+json too.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiProblem('headers-too-large', 'The request line and headers exceed 16 KB.')
      : new ApiProblem('malformed-request', 'The request is not valid HTTP/1.1.');
  const requestId = uuidv7();
  const body = problem.body('', requestId);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${problem.status} ${body.title}\r\nContent-Type: application/problem+json\r\nX-Request-Id: ${requestId}\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export async function listen(app: Express, port: number, host?: string): Promise<Server> {
  const server = createServer(app);
  // Keep-alive must outlive a load balancer's idle timeout (typically 60 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
