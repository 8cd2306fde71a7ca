// A port that was free a moment ago on 127.0.0.1, for processes that must be told their port
// up front (PostgreSQL, a child server). In-process servers listen on port 0 instead.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
