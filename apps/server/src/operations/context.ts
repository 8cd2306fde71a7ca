// What an operation handler receives and returns, typed from the contract's `operations`, so
// a handler cannot read a parameter or return a status the contract does not declare.
import type { OperationId, operations } from '@deals/api-types';
import type { IdGenerator } from '../ids.ts';
import type { Sql } from '../db/sql.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Scope } from '../auth/scope.ts';

type Operation<K extends OperationId> = operations[K];

type PathOf<K extends OperationId> = Operation<K>['parameters'] extends { path: infer P } ? P : never;
type QueryOf<K extends OperationId> = NonNullable<Operation<K>['parameters']['query']>;
type BodyOf<K extends OperationId> = Operation<K> extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : undefined;
type SuccessStatus<K extends OperationId> = Extract<keyof Operation<K>['responses'], 200 | 201 | 204>;

export type OperationDeps = {
  /** Raw SQL, one statement per request (the data layer's functions take it). */
  sql: Sql;
  /** Prisma's own client, for the few reads that use the ORM. */
  prisma: PrismaClient;
  newId: IdGenerator;
  /** The API's base path, for Location headers. */
  basePath: string;
};

export type OperationContext<K extends OperationId> = OperationDeps & {
  scope: Scope;
  path: PathOf<K>;
  query: QueryOf<K>;
  body: BodyOf<K>;
  header(name: string): string | undefined;
};

export type OperationResult<K extends OperationId> = {
  status: SuccessStatus<K> | number;
  headers?: Record<string, string>;
  /** JSON text built by PostgreSQL, or a value to serialise; absent for 204. */
  json?: string | object;
};

export type Handler<K extends OperationId> = (context: OperationContext<K>) => Promise<OperationResult<K>>;

export type Handlers = { [K in OperationId]: Handler<K> };
