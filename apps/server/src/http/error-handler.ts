// The only place that writes error responses: every thrown thing becomes the contract's
// application/problem+json. Database outages and saturation become 503 with Retry-After;
// anything unforeseen is a 500 whose details go to the log, never to the client.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiProblem } from '../problems.ts';
import { BODY_LIMIT_BYTES } from './json-body.ts';
import { isValidatorError, translateValidatorError } from './validator.ts';

// What means "the database cannot serve us right now", by code only, never by message text:
// socket errnos; SQLSTATEs of an administrator or a failover ending the session (57P01-57P03,
// 57P03 also "starting up" / "shutting down"), of saturation (53300 too many connections,
// 53400 configuration limit) and of statement_timeout (57014); class 08, connection exception,
// which db/connection-failures.ts also gives to pg's own uncoded failures (pool checkout 08001,
// a connection lost under a statement 08006).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53400',
  '57014',
]);
const CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/;
// Prisma's pg adapter reports lost connections as error kinds without a code.
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// Class 22, data exception: input PostgreSQL refused, e.g. a date that does not exist.
const DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;

// The errors to inspect: the error, its causes, and (Prisma 7) the driver adapter's error in
// `meta.driverAdapterError`, whose `cause` carries PostgreSQL's SQLSTATE.
function errorChain(error: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 12) {
    const e = pending.shift();
    if (!e || typeof e !== 'object' || chain.includes(e as Record<string, unknown>)) continue;
    const record = e as Record<string, unknown>;
    chain.push(record);
    pending.push(record.cause, (record.meta as Record<string, unknown> | undefined)?.driverAdapterError);
  }
  return chain;
}

function databaseProblem(error: unknown): ApiProblem | undefined {
  for (const e of errorChain(error)) {
    const codes = [e.code, e.originalCode, (e.meta as Record<string, unknown> | undefined)?.code, e.kind].map(String);
    if (codes.some((c) => UNAVAILABLE_CODES.has(c) || CONNECTION_EXCEPTION.test(c) || UNAVAILABLE_ADAPTER_KINDS.has(c))) {
      return new ApiProblem('service-unavailable', 'The database is unreachable or saturated; retry shortly.', {
        headers: { 'Retry-After': '1' },
      });
    }
    if (codes.some((c) => DATA_EXCEPTION.test(c)))
      return new ApiProblem('validation-error', 'PostgreSQL rejected a value of the request.', {
        errors: { body: ['A value of the request is out of range or malformed.'] },
      });
  }
  return undefined;
}

function bodyParserProblem(error: unknown): ApiProblem | undefined {
  const { type, status, expose } = error as { type?: unknown; status?: unknown; expose?: unknown };
  if (type === 'entity.too.large') return new ApiProblem('payload-too-large', `The request body exceeds ${BODY_LIMIT_BYTES} bytes.`);
  if (type === 'request.aborted' || type === 'request.size.invalid')
    return new ApiProblem('malformed-request', 'The request body was incomplete.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ApiProblem('unsupported-media-type', 'Send the request body as uncompressed UTF-8 application/json.');
  }
  // Any other client error body-parser raises (it marks them `expose`) is a malformed request.
  if (expose === true && typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiProblem('malformed-request', 'The request body could not be read.');
  }
  return undefined;
}

export function toProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  if (isValidatorError(error)) return translateValidatorError(error);
  return (
    bodyParserProblem(error) ??
    databaseProblem(error) ??
    new ApiProblem('internal-error', 'An unexpected error occurred; it has been logged.')
  );
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let problem: ApiProblem;
    try {
      problem = toProblem(error);
    } catch (translationError) {
      log.error({ err: translationError, req_id: res.locals.requestId }, 'could not translate an error');
      problem = new ApiProblem('internal-error', 'An unexpected error occurred; it has been logged.');
    }
    // The request's log line (http/access-log.ts) carries the cause, at error level.
    if (problem.status >= 500) res.err = error instanceof Error ? error : new Error(String(error));
    if (res.headersSent) return res.end();
    for (const [name, value] of Object.entries(problem.extra.headers ?? {})) res.setHeader(name, value);
    res.removeHeader('ETag');
    res.removeHeader('Location');
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify(problem.body(req.originalUrl.split('?')[0] ?? req.originalUrl, String(res.locals.requestId))));
  };
}

export const routeNotFound: RequestHandler = (_req, _res, next) =>
  next(new ApiProblem('not-found', 'No such route. See /openapi.yaml for the routes of this API.'));
