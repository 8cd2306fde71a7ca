// Checks HTTP responses against openapi/deals.yaml: the status is one the operation declares, the
// content type is one declared for that status, the body validates against that schema, and the
// declared headers that are present validate too. Shared by the contract suite (client, mock) and
// the server's own tests, so it depends on nothing but the contract: pass it any response shape.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { components, OperationId } from '@deals/api-types';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { parse } from 'yaml';

type Json = Record<string, unknown>;
type SchemaName = keyof components['schemas'];
type HeaderSource = Headers | Record<string, string | string[] | number | undefined>;

/** What the validator needs of a response: works for fetch Responses and supertest alike. */
export interface ObservedResponse {
  status: number;
  headers: HeaderSource;
  /** The parsed JSON body, or undefined / '' when there was none. */
  body: unknown;
}

export interface OperationInfo {
  operationId: OperationId;
  method: string;
  /** The path as the contract writes it, e.g. `/deals/{deal_id}` (without the server base path). */
  path: string;
}

export interface ContractValidator {
  /** The parsed contract, for reading examples and declarations instead of copying them. */
  readonly document: Json;
  /** The contract's server base path, e.g. `/api/v1/integration`. */
  readonly basePath: string;
  operation(operationId: OperationId): OperationInfo;
  /** Every way `response` breaks the contract for `operationId`; empty when it keeps it. */
  check(operationId: OperationId, response: ObservedResponse): string[];
  /** Throws an Error listing every violation (test runners show it as the failure). */
  assertResponse(operationId: OperationId, response: ObservedResponse): void;
  /** Errors of `value` against a named schema of components/schemas. */
  checkSchema(name: SchemaName, value: unknown): string[];
  /** The value of components/examples/`name`. */
  example(name: string): unknown;
  /** The value of a named request-body example of an operation. */
  requestExample(operationId: OperationId, name: string): unknown;
}

// Any absolute URI works as the document's id; it is never fetched.
const DOCUMENT_ID = 'https://deals-api.dev/openapi/deals.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
// ajv-formats is CommonJS; under NodeNext its default import is module.exports, whose `default`
// is the plugin (https://github.com/ajv-validator/ajv-formats/issues/123).
const addFormats = formatsModule.default;

const cache = new Map<string, ContractValidator>();

/** The validator for the repository's contract (or another OpenAPI 3.1 file), built once per file. */
export function contractValidator(contractPath = defaultContractPath()): ContractValidator {
  let validator = cache.get(contractPath);
  if (!validator) cache.set(contractPath, (validator = build(contractPath)));
  return validator;
}

function defaultContractPath(): string {
  return createRequire(import.meta.url).resolve('@deals/contract/deals.yaml');
}

function build(contractPath: string): ContractValidator {
  const document = parse(readFileSync(contractPath, 'utf8')) as Json;
  // OpenAPI 3.1 schemas are JSON Schema 2020-12. The whole document is registered once so that
  // every `#/components/...` reference resolves exactly as it does in the contract.
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, validateSchema: false, strict: false });
  addFormats(ajv);
  ajv.addSchema(document, DOCUMENT_ID);
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string) => {
    let validate = compiled.get(pointer);
    if (!validate) compiled.set(pointer, (validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${encodePointer(pointer)}` })));
    return validate;
  };
  const errorsAt = (pointer: string, value: unknown, label: string) => {
    const validate = validatorAt(pointer);
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) =>
        `${label}${e.instancePath || ''} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
  };

  const operations = new Map<string, OperationInfo & { pointer: string[] }>();
  for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (op?.operationId)
        operations.set(op.operationId as string, {
          operationId: op.operationId as OperationId,
          method,
          path,
          pointer: ['paths', path, method],
        });
    }
  }
  const operation = (operationId: OperationId) => {
    const found = operations.get(operationId);
    if (!found) throw new Error(`the contract has no operation ${operationId}`);
    return found;
  };

  function check(operationId: OperationId, response: ObservedResponse): string[] {
    const op = operation(operationId);
    const label = `${operationId} ${response.status}`;
    const responses = at(document, [...op.pointer, 'responses']) as Json;
    const statusKey = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find((key) => key in responses);
    if (!statusKey) return [`${label}: status ${response.status} is not declared (declared: ${Object.keys(responses).join(', ')})`];
    const [responsePointer, declared] = follow(document, [...op.pointer, 'responses', statusKey]);
    const errors: string[] = [];

    const headers = (declared.headers ?? {}) as Record<string, Json>;
    for (const name of Object.keys(headers)) {
      const value = header(response.headers, name);
      if (value === undefined) continue; // presence is the caller's assertion: Prism and servers differ
      const [headerPointer, headerObject] = follow(document, [...responsePointer, 'headers', name]);
      const schema = headerObject.schema as Json | undefined;
      const typed = schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      errors.push(...errorsAt(pointerOf([...headerPointer, 'schema']), typed, `${label} header ${name}`));
    }

    const content = declared.content as Json | undefined;
    const bodyIsEmpty = response.body === undefined || response.body === '' || response.body === null;
    if (!content) {
      if (!bodyIsEmpty) errors.push(`${label}: the contract declares no body, got ${JSON.stringify(response.body).slice(0, 200)}`);
      return errors;
    }
    const contentType = header(response.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    const mediaType = Object.keys(content).find((type) => type.toLowerCase() === contentType);
    if (!mediaType)
      return [
        ...errors,
        `${label}: content-type ${contentType ?? '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`,
      ];
    errors.push(...errorsAt(pointerOf([...responsePointer, 'content', mediaType, 'schema']), response.body, `${label} body`));
    return errors;
  }

  return {
    document,
    basePath: basePathOf(document),
    operation: (operationId) => {
      const { pointer: _pointer, ...info } = operation(operationId);
      return info;
    },
    check,
    assertResponse(operationId, response) {
      const errors = check(operationId, response);
      if (errors.length)
        throw new Error(`response breaks the contract:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(response.body)?.slice(0, 2000)}`);
    },
    checkSchema: (name, value) => errorsAt(pointerOf(['components', 'schemas', name]), value, name),
    example(name) {
      const example = at(document, ['components', 'examples', name]) as Json | undefined;
      if (!example) throw new Error(`the contract has no example ${name}`);
      return example.value;
    },
    requestExample(operationId, name) {
      const op = operation(operationId);
      const body = at(document, [...op.pointer, 'requestBody', 'content', 'application/json', 'examples', name]) as Json | undefined;
      if (!body) throw new Error(`${operationId} has no request example ${name}`);
      return follow(document, [...op.pointer, 'requestBody', 'content', 'application/json', 'examples', name])[1].value;
    },
  };
}

function basePathOf(document: Json): string {
  const servers = document.servers as { url: string }[] | undefined;
  const url = servers?.[0]?.url ?? '/';
  return new URL(url, 'http://relative.invalid').pathname.replace(/\/$/, '');
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  return entry === undefined ? undefined : Array.isArray(entry) ? entry.join(', ') : String(entry);
}

function at(document: Json, pointer: string[]): unknown {
  return pointer.reduce<unknown>((node, key) => (node as Json | undefined)?.[key], document);
}

/** Follows `$ref`s (responses, headers and examples are often shared) to the object they name. */
function follow(document: Json, pointer: string[]): [string[], Json] {
  let current = pointer;
  for (let hops = 0; hops < 10; hops++) {
    const node = at(document, current) as Json | undefined;
    if (!node) throw new Error(`the contract has nothing at #${pointerOf(current)}`);
    if (typeof node.$ref !== 'string') return [current, node];
    current = node.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  throw new Error(`too many $ref hops from #${pointerOf(pointer)}`);
}

function pointerOf(parts: string[]): string {
  return parts.map((part) => `/${part.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** A JSON pointer as a URI fragment: ajv decodes it before walking, so `{` and `+` must be escaped. */
function encodePointer(pointer: string): string {
  return pointer.split('/').map(encodeURIComponent).join('/');
}
