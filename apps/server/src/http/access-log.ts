// One log line per request, through pino-http: request id, method, route template, status,
// duration and tenant. 5xx at error level with the error that caused it (error-handler.ts
// hands it over as `res.err`); a request whose client went away before the response was
// written is logged as "request aborted". Handlers get `req.log`, a logger bound to the
// request id. Request headers are never logged, so neither is X-Api-Key: the lines are built
// here from named fields, and the request object itself is never serialised.
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

type OpenApiRequest = Request & { openapi?: { openApiRoute?: string } };

/** Liveness and readiness probes arrive every few seconds from the load balancer. */
const PROBES = new Set(['/healthz', '/readyz']);

function requestLine(req: Request, res: Response, durationMs: number) {
  return {
    method: req.method,
    // The contract's template (`/deals/{deal_id}`), so lines group by operation, not by id.
    route: (req as OpenApiRequest).openapi?.openApiRoute ?? req.originalUrl.split('?')[0],
    // Absent when the client left before a status was sent.
    status: res.headersSent ? res.statusCode : undefined,
    duration_ms: durationMs,
    tenant_id: res.locals.scope?.tenantId,
  };
}

export function accessLog(log: Logger): RequestHandler {
  return pinoHttp<Request, Response>({
    logger: log,
    // The id http/request-id.ts chose (the caller's X-Request-Id or a new one), which the
    // response's X-Request-Id header carries too.
    genReqId: (_req, res) => res.locals.requestId as string,
    customAttributeKeys: { reqId: 'req_id' },
    // req.log and the request line carry the request id alone, not the request object.
    quietReqLogger: true,
    quietResLogger: true,
    // pino-http still binds the request to a logger it never writes to; serialise nothing.
    serializers: { req: () => undefined },
    wrapSerializers: false,
    customLogLevel: (req, res, error) => {
      if (PROBES.has(req.path)) return 'debug';
      return error || res.err || res.statusCode >= 500 ? 'error' : 'info';
    },
    customSuccessMessage: (_req, res) => (res.writableEnded ? 'request' : 'request aborted'),
    customErrorMessage: (_req, res) => (res.writableEnded ? 'request' : 'request aborted'),
    customSuccessObject: (req, res, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, error, val: { responseTime: number }) => ({ ...requestLine(req, res, val.responseTime), err: error }),
  });
}
