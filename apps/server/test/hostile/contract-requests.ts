// Whole HTTP requests for each operation of the contract: its path, query and header
// parameters and its request body, every part from contract-arbitraries. A valid request keeps
// every part valid; an invalid one breaks exactly one part, so the answer says which part the
// server mishandled.
import fc, { type Arbitrary } from 'fast-check';
import { type Place, type Schema, translator } from './contract-arbitraries.ts';
import { encodePathSegment, queryString, type RawRequest } from './raw-http.ts';

type Parameter = { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: Schema };

export type Operation = {
  operationId: string;
  method: string;
  /** As the contract writes it, e.g. `/deals/{deal_id}`. */
  path: string;
  parameters: Parameter[];
  body?: Schema;
};

export type FuzzRequest = RawRequest & {
  operationId: string;
  /** What was done to it: `valid`, or which part was broken and how. */
  intent: string;
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Every operation of the contract, with path-level parameters merged and `$ref`s followed. */
export function operationsOf(document: Schema): Operation[] {
  const t = translator({ document, pools: {} });
  const deref = (node: Schema): Schema => {
    let current = node;
    while (typeof current.$ref === 'string') {
      current = (current.$ref as string)
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((n, k) => (n as Schema)[k], document) as Schema;
    }
    return current;
  };
  const operations: Operation[] = [];
  for (const [path, itemNode] of Object.entries(document.paths as Record<string, Schema>)) {
    const item = deref(itemNode);
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const parameters = [...((item.parameters ?? []) as Schema[]), ...((op.parameters ?? []) as Schema[])].map((p) => {
        const param = deref(p);
        return {
          name: param.name as string,
          in: param.in as Parameter['in'],
          required: param.required === true,
          schema: param.schema as Schema,
        };
      });
      const body = (deref((op.requestBody ?? {}) as Schema).content as Schema | undefined)?.['application/json'] as Schema | undefined;
      // Resolving now makes an unsupported keyword fail before any request is sent.
      for (const p of parameters) t.resolve(p.schema);
      operations.push({
        operationId: op.operationId as string,
        method: method.toUpperCase(),
        path,
        parameters,
        ...(body ? { body: body.schema as Schema } : {}),
      });
    }
  }
  return operations;
}

export type RequestContext = {
  document: Schema;
  basePath: string;
  /** Headers every request carries: the world's key and department. */
  auth: Record<string, string>;
  pools: Record<string, readonly string[]>;
  hostile?: Record<string, readonly string[]>;
};

const asText = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined'));
// Node refuses header values with control characters or code points above U+00FF.
const headerSafe = (value: string) => value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

const BAD_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/merge-patch+json',
  '',
];
const BAD_RAW_BODIES = [
  '',
  'null',
  '[]',
  '"x"',
  '12',
  '{',
  '{"a":1,"a":2}',
  '{"name":"x",}',
  "{'name':'x'}",
  'NaN',
  '\u0000',
  '{"name":"\\u0000"}',
  '{"name":"\\ud800"}',
];

export function requestArbitrary(op: Operation, context: RequestContext): Arbitrary<FuzzRequest> {
  const t = translator({ document: context.document, pools: context.pools, hostile: context.hostile ?? {} });
  const place = (p: Parameter): Place => p.in;
  const optional = <T>(arb: Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

  // Each parameter: always when required, about half the time otherwise.
  const validParams = fc.tuple(
    ...op.parameters.map((p) => (p.required ? t.valid(p.schema, p.name, place(p)) : optional(t.valid(p.schema, p.name, place(p))))),
  );
  const validBody = op.body ? t.valid(op.body) : fc.constant(undefined);

  type Parts = { params: unknown[]; extraQuery: [string, string][]; body: unknown; rawBody?: string; contentType?: string; intent: string };
  const valid: Arbitrary<Parts> = fc
    .tuple(validParams, validBody)
    .map(([params, body]) => ({ params, extraQuery: [], body, intent: 'valid' }));

  // Weighted so that the body, where most of a contract's schema is, gets most of the mutations.
  const breakers: { weight: number; arbitrary: Arbitrary<Parts> }[] = op.parameters.map((p, i) => ({
    weight: 3,
    arbitrary: fc.tuple(valid, t.invalid(p.schema, p.name, place(p))).map(([parts, bad]) => {
      const params = [...parts.params];
      params[i] = bad;
      return { ...parts, params, intent: `invalid ${p.in} parameter ${p.name}` };
    }),
  }));
  breakers.push({
    weight: 2,
    arbitrary: fc
      .tuple(
        valid,
        fc.constantFrom(
          'unknown',
          'LIMIT',
          'limit[]',
          'tenant_id',
          'department_id',
          '__proto__',
          'toString',
          'constructor',
          'z'.repeat(2100),
        ),
        fc.string({ maxLength: 8 }),
      )
      .map(([parts, name, value]) => ({
        ...parts,
        extraQuery: [[name, value]] as [string, string][],
        intent: `unknown query parameter ${name.slice(0, 40)}`,
      })),
  });
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  if (queryParams.length) {
    breakers.push({
      weight: 2,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...queryParams), fc.constantFrom('', '1', 'x', 'true', 'null'))
        .map(([parts, p, value]) => ({
          ...parts,
          extraQuery: [[p.name, value]] as [string, string][],
          intent: `query parameter ${p.name} sent twice or empty`,
        })),
    });
  }
  if (op.body) {
    breakers.push(
      { weight: 12, arbitrary: fc.tuple(valid, t.invalid(op.body)).map(([parts, body]) => ({ ...parts, body, intent: 'invalid body' })) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(valid, fc.constantFrom(...BAD_CONTENT_TYPES))
          .map(([parts, contentType]) => ({ ...parts, contentType, intent: `content type ${contentType || '(none)'}` })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(valid, fc.constantFrom(...BAD_RAW_BODIES))
          .map(([parts, rawBody]) => ({ ...parts, rawBody, intent: 'malformed JSON body' })),
      },
    );
  }
  const invalid = fc.oneof(...breakers);

  return fc.oneof({ weight: 1, arbitrary: valid }, { weight: 1, arbitrary: invalid }).map((parts) => {
    let path = op.path;
    const query: [string, string][] = [];
    const headers: Record<string, string> = { ...context.auth };
    op.parameters.forEach((p, i) => {
      const value = parts.params[i];
      if (value === undefined) return;
      if (p.in === 'path') path = path.replace(`{${p.name}}`, encodePathSegment(asText(value)));
      else if (p.in === 'header') headers[p.name] = headerSafe(asText(value));
      // An array in a query is the parameter repeated (what `?a=1&a=2` parses into).
      else if (Array.isArray(value) && value.length) for (const v of value) query.push([p.name, asText(v)]);
      else query.push([p.name, asText(value)]);
    });
    query.push(...parts.extraQuery);
    let body: string | undefined;
    if (op.body) {
      body = parts.rawBody ?? JSON.stringify(parts.body);
      const contentType = parts.contentType ?? 'application/json';
      if (contentType !== '') headers['Content-Type'] = contentType;
    }
    return {
      operationId: op.operationId,
      method: op.method,
      path: context.basePath + path + queryString(query),
      headers,
      ...(body === undefined ? {} : { body }),
      intent: parts.intent,
    };
  });
}
