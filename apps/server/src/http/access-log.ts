import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/** One structured line per request: id, method, route template, status, duration. */
export function accessLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const openapi = (req as { openapi?: { openApiRoute?: string } }).openapi;
      log.info({
        req_id: res.locals.requestId,
        method: req.method,
        route: openapi?.openApiRoute ?? req.path,
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - start) / 1e6,
        tenant_id: res.locals.scope?.tenantId,
      }, 'request');
    });
    next();
  };
}
