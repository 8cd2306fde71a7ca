// Routes a validated request to the handler of its operationId (set by the contract
// validator) and writes the handler's result.
import type { OperationId } from '@deals/api-types';
import type { RequestHandler } from 'express';
import type { Handler, Handlers, OperationDeps, OperationResult } from '../operations/context.ts';

type OpenApiRequest = { openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> } };

export function dispatch(handlers: Handlers, deps: OperationDeps, validateResponses: boolean): RequestHandler {
  return async (req, res, next) => {
    try {
      const openapi = (req as OpenApiRequest).openapi;
      const operationId = openapi?.schema?.operationId as OperationId | undefined;
      if (!operationId || !(operationId in handlers)) throw new Error(`no handler for operation ${operationId}`);
      const handler = handlers[operationId] as Handler<OperationId>;
      const result: OperationResult<OperationId> = await handler({
        ...deps,
        scope: res.locals.scope,
        path: (openapi?.pathParams ?? {}) as never,
        query: req.query as never,
        body: req.body as never,
        header: (name) => req.get(name),
        log: req.log,
        requestId: res.locals.requestId,
      });
      const headers: Readonly<Record<string, string | number | undefined>> = result.headers ?? {};
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
      res.status(result.status);
      if (result.body === undefined) {
        res.end();
      } else if (typeof result.body === 'string') {
        // PostgreSQL built the JSON; parse it only when the response is to be validated.
        if (validateResponses) res.json(JSON.parse(result.body));
        else res.type('application/json').send(result.body);
      } else {
        res.json(result.body);
      }
    } catch (error) {
      next(error);
    }
  };
}
