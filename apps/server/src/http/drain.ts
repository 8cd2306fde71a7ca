// Graceful drain for SIGTERM without resetting a connection under a request the client has
// already sent. http.Server#close() (Node 19+) closes every connection it deems idle at once,
// and on a busy server a keep-alive connection whose next request is still unread counts as
// idle: the client sees ECONNRESET for a request it cannot know was not applied. So:
// - in-flight and later responses get `Connection: close`, so clients stop reusing sockets;
// - the listener stops accepting (net.Server#close, which closes no connection itself);
// - only connections with no request in progress, idle for a while, are destroyed.
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

const IDLE_BEFORE_CLOSE_MS = 1000;

export function trackConnections(server: Server, now: () => number = Date.now) {
  const sockets = new Map<Socket, { inFlight: number; idleSince: number }>();
  const responses = new Set<ServerResponse>();
  let draining = false;

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { inFlight: 0, idleSince: now() });
    socket.once('close', () => sockets.delete(socket));
  });
  server.prependListener('request', (req, res) => {
    const state = sockets.get(req.socket);
    if (state) state.inFlight += 1;
    responses.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      responses.delete(res);
      if (state) {
        state.inFlight -= 1;
        state.idleSince = now();
      }
    });
  });

  /** Resolves when every connection has ended. */
  return function drain(): Promise<void> {
    draining = true;
    for (const res of responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    const sweep = setInterval(() => {
      for (const [socket, state] of sockets) {
        if (state.inFlight === 0 && now() - state.idleSince >= IDLE_BEFORE_CLOSE_MS) socket.destroy();
      }
    }, 100);
    return new Promise<void>((resolve) => {
      NetServer.prototype.close.call(server, () => {
        clearInterval(sweep);
        resolve();
      });
    });
  };
}
