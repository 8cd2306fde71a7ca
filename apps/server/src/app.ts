// Builds the Express app from its dependencies. It binds no port (start.ts does), so tests can
// run it on an ephemeral port, with their own database, clock and ids.
import express from 'express';
import type { Logger } from 'pino';
import { authenticate } from './auth/authenticate.ts';
import type { TrustProxy } from './config.ts';
import { basePath, contract, contractText } from './contract.ts';
import { findApiKeyGrant } from './data/api-keys.ts';
import type { Database } from './db/database.ts';
import { accessLog } from './http/access-log.ts';
import { dispatch } from './http/dispatch.ts';
import { errorHandler, routeNotFound } from './http/error-handler.ts';
import { jsonBody, queryStrings } from './http/json-body.ts';
import { failedAuthentications } from './http/limits/failed-authentications.ts';
import { type LimiterFactory, memoryLimiters } from './http/limits/limiters.ts';
import { perKeyRateLimit } from './http/limits/per-key.ts';
import { requestId } from './http/request-id.ts';
import { contractValidator } from './http/validator.ts';
import type { IdGenerator } from './ids.ts';
import { handlers } from './operations/index.ts';
import type { WebhookServices } from './webhooks/services.ts';

export type AppDeps = {
  db: Database;
  log: Logger;
  newId: IdGenerator;
  rateLimitPerSecond: number;
  /** Unknown or revoked keys per client address per minute before it gets 429 (0: no limit). */
  authFailuresPerMinute: number;
  keyCacheTtlMs: number;
  /** Express's `trust proxy`, for the client address behind a load balancer (default: off). */
  trustProxy?: TrustProxy;
  /** Where the rate limits count (default: this process's memory). */
  limiters?: LimiterFactory;
  validateResponses: boolean;
  /** The built docs site (apps/docs/dist), served at /docs when it exists. */
  docsDir?: string;
  /** Milliseconds clock for the key cache (tests pin it; the rate limits read Date.now). */
  now?: () => number;
  /** Readiness: database reachable, migrations applied, not shutting down. */
  ready(): Promise<boolean>;
  /**
   * The webhook operations' secret box, URL policy and worker nudge. Required, with no
   * default: a built-in key would seal every secret under a key anyone can read here.
   */
  webhooks: WebhookServices;
};

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are the resources' versions (http/etag.ts), not body hashes
  app.set('trust proxy', deps.trustProxy ?? false);
  const limiters = deps.limiters ?? memoryLimiters;

  app.use(requestId(deps.newId));
  app.use(accessLog(deps.log));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(contractText);
  });
  if (deps.docsDir) app.use('/docs', express.static(deps.docsDir, { index: 'index.html' }));

  app.use(
    basePath,
    authenticate({
      findGrant: (hash) => findApiKeyGrant(deps.db.sql, hash),
      keyCacheTtlMs: deps.keyCacheTtlMs,
      failures: failedAuthentications(deps.authFailuresPerMinute, limiters),
      now: deps.now,
    }),
    perKeyRateLimit(deps.rateLimitPerSecond, limiters),
    jsonBody,
    queryStrings,
    ...contractValidator(contract, deps.validateResponses),
    dispatch(
      handlers,
      { sql: deps.db.sql, prisma: deps.db.prisma, newId: deps.newId, basePath, webhooks: deps.webhooks },
      deps.validateResponses,
    ),
  );
  app.use(routeNotFound);
  app.use(errorHandler(deps.log));
  return app;
}
