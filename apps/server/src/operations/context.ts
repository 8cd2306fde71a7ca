// What an operation handler receives and returns, typed from the contract's `operations`, so
// a handler cannot read a parameter, or return a status, header or body, that the contract
// does not declare.
import type { OperationId, operations } from '@deals/api-types';
import type { Logger } from 'pino';
import type { Scope } from '../auth/scope.ts';
import type { JsonText } from '../data/json-text.ts';
import type { Sql } from '../db/sql.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { IdGenerator } from '../ids.ts';
import type { WebhookServices } from '../webhooks/services.ts';

type Operation<K extends OperationId> = operations[K];

type PathOf<K extends OperationId> = Operation<K>['parameters'] extends { path: infer P } ? P : never;
type QueryOf<K extends OperationId> = NonNullable<Operation<K>['parameters']['query']>;
type BodyOf<K extends OperationId> = Operation<K> extends { requestBody: { content: { 'application/json': infer B } } } ? B : undefined;

export type OperationDeps = {
  /** Raw SQL, one statement per request (the data layer's functions take it). */
  sql: Sql;
  /** Prisma's own client, for the few reads that use the ORM. */
  prisma: PrismaClient;
  newId: IdGenerator;
  /** The API's base path, for Location headers. */
  basePath: string;
  /** Sealing signing secrets, checking URLs, sending a test event, waking the delivery worker. */
  webhooks: WebhookServices;
};

export type OperationContext<K extends OperationId> = OperationDeps & {
  scope: Scope;
  path: PathOf<K>;
  query: QueryOf<K>;
  body: BodyOf<K>;
  header(name: string): string | undefined;
  /** This request's logger (pino-http's req.log): every line carries its req_id. */
  log: Logger;
  /** This request's X-Request-Id (the client's or ours): events record it as their origin. */
  requestId: string;
};

type Responses<K extends OperationId> = Operation<K>['responses'];
/** K's declared response S (never if K declares no S). */
type Declared<K extends OperationId, S> = S extends keyof Responses<K> ? Responses<K>[S] : never;

/**
 * The 2xx statuses the contract declares for K. Every other declared status is an error,
 * thrown as an ApiProblem and written by the error handler, never returned.
 */
export type SuccessStatus<K extends OperationId> = Extract<keyof Responses<K>, 200 | 201 | 202 | 204>;

/** Set on every response by middleware (http/request-id.ts), never by a handler. */
type MiddlewareHeader = 'X-Request-Id';

/**
 * The headers the contract declares for K's response S, with their declared spelling and
 * type, minus openapi-typescript's `[name: string]: unknown` and minus middleware's. Each is
 * optional because the contract marks no response header `required` (openapi-typescript 7
 * renders every `$ref`'d header as required whatever the contract says: see `"$ref" in
 * headerObject` in its src/transform/response-object.ts); Idempotent-Replayed, for one, is
 * sent only on a replay.
 */
export type ResponseHeaders<K extends OperationId, S> =
  Declared<K, S> extends { headers: infer H }
    ? { [N in keyof H as string extends N ? never : N extends MiddlewareHeader ? never : N]?: H[N] }
    : Record<never, never>;

/** The schema of K's JSON body for response S (never when S has no body, as 204). */
export type ResponseSchema<K extends OperationId, S> =
  Declared<K, S> extends {
    content: { 'application/json': infer T };
  }
    ? T
    : never;

/**
 * A body is a value of the declared schema, serialised on the way out, or JSON text that the
 * data layer built in SQL and branded with that schema, sent as it is. No declared body is a
 * JSON string, so `typeof body === 'string'` tells the two apart.
 */
type BodyField<K extends OperationId, S extends SuccessStatus<K>> = [ResponseSchema<K, S>] extends [never]
  ? { body?: never }
  : { body: ResponseSchema<K, S> | JsonText<ResponseSchema<K, S>> };

type Flatten<T> = { [P in keyof T]: T[P] };

/** What a handler of K returns for its declared status S. */
export type SuccessResponse<K extends OperationId, S extends SuccessStatus<K>> = Flatten<
  { status: S; headers?: ResponseHeaders<K, S> } & BodyField<K, S>
>;

/** A handler's result: one of K's declared success responses, discriminated by status. */
export type OperationResult<K extends OperationId> = K extends OperationId
  ? { [S in SuccessStatus<K>]: SuccessResponse<K, S> }[SuccessStatus<K>]
  : never;

export type Handler<K extends OperationId> = (context: OperationContext<K>) => Promise<OperationResult<K>>;

export type Handlers = { [K in OperationId]: Handler<K> };

/** Where a handler's result has a property, or a header, that K does not declare for its status. */
type Undeclared = { readonly 'not declared by the contract for this status': never };

/**
 * Undeclared for each top-level property and each header of R (a handler's result) that the
 * contract does not declare for R's status; `unknown`, i.e. no further demand, for the rest.
 * Assignability alone allows extra properties, and TypeScript checks a returned object
 * literal for them only against a written return type, never a contextual one
 * (microsoft/TypeScript#7547), nor once the headers sit in a variable.
 */
type OnlyDeclared<K extends OperationId, R> = {
  [P in keyof R]: P extends 'headers'
    ? { [N in keyof R[P]]: N extends HeaderName<K, R> ? unknown : Undeclared }
    : P extends 'status' | 'body'
      ? unknown
      : Undeclared;
};
type HeaderName<K extends OperationId, R> = R extends { status: infer S } ? keyof ResponseHeaders<K, S> : never;

/**
 * The handler of operation K (named by the first argument; at run time the handler is `run`
 * itself). `R extends OperationResult<K>` makes an undeclared status or a body of another
 * schema a type error; `R extends OnlyDeclared<K, R>` does the same for an undeclared header
 * or property, wherever the result was built.
 */
export function handler<K extends OperationId, R extends OperationResult<K> & OnlyDeclared<K, R>>(
  _operationId: K,
  run: (context: OperationContext<K>) => Promise<R>,
): Handler<K> {
  return run;
}
