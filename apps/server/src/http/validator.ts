// The contract enforces every request: express-openapi-validator checks path, query, headers
// and body against openapi/deals.yaml (no body coercion, unknown query parameters rejected),
// and in tests every response too. Its errors are translated here, in one place, into the
// API's problems: 422 with the reference system's `errors` map for invalid data.

import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { ApiProblem, addFieldError, fieldErrors, notFound, validationProblem } from '../problems.ts';
import { BODY_LIMIT_BYTES } from './json-body.ts';

export function contractValidator(apiSpec: object, validateResponses: boolean): RequestHandler[] {
  return OpenApiValidator.middleware({
    // The validator mutates the document it is given; the caller's copy stays pristine.
    apiSpec: structuredClone(apiSpec) as never,
    // allErrors reports every invalid field at once, as the reference system does. Ajv warns
    // that it costs time on hostile input; here every array has maxItems, every string
    // maxLength and every body at most 1 MB (json-body.ts), which bounds that cost.
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
    validateResponses: validateResponses ? { removeAdditional: false } : false,
    // auth.ts authenticates before the validator runs, so 401/403 come before 422.
    validateSecurity: false,
    validateFormats: true,
    ajvFormats: { mode: 'full' }, // e.g. a birthday of 1980-02-30 is refused
    ignoreUndocumented: false,
  }) as RequestHandler[];
}

type ValidatorError = {
  status: number;
  message: string;
  headers?: Record<string, string>;
  errors?: { path: string; message: string; errorCode?: string }[];
};

export function isValidatorError(error: unknown): error is ValidatorError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ValidatorError>).status === 'number' &&
    Array.isArray((error as Partial<ValidatorError>).errors)
  );
}

const resourceOfParam: Record<string, Parameters<typeof notFound>[0]> = {
  deal_id: 'deal',
  customer_id: 'customer',
  event_id: 'event',
  endpoint_id: 'webhookEndpoint',
};

/** `/body/customers/0/last_name` → `customers.0.last_name`; `/query/limit` → `limit`. */
function fieldOf(path: string): { location: string; field: string } {
  const parts = path.replace(/^[./]/, '').split(/[./]/).filter(Boolean);
  const [location = '', ...rest] = parts;
  return { location, field: rest.join('.') || location };
}

function messageFor(field: string, message: string, errorCode: string | undefined): string {
  const keyword = errorCode?.split('.')[0];
  if (keyword === 'required') return `The ${field} field is required.`;
  if (keyword === 'additionalProperties') return `The ${field} field is not allowed.`;
  if (keyword === 'minProperties') return 'Send at least one field to change.';
  return `The ${field} field ${message.replace(/\.+$/, '')}.`;
}

export function translateValidatorError(error: ValidatorError): ApiProblem {
  const details = error.errors ?? [];
  switch (error.status) {
    case 404:
      return new ApiProblem('not-found', 'No such route. See /openapi.yaml for the routes of this API.');
    case 405:
      return new ApiProblem('method-not-allowed', error.message, { headers: error.headers ?? {} });
    case 413:
      return new ApiProblem('payload-too-large', `The request body exceeds ${BODY_LIMIT_BYTES} bytes.`);
    case 415:
      return new ApiProblem('unsupported-media-type', 'Send the request body as application/json.');
  }
  const pathParam = details.find((d) => /^[./]?params[./]/.test(d.path));
  if (pathParam) {
    const resource = resourceOfParam[fieldOf(pathParam.path).field];
    return resource ? notFound(resource) : new ApiProblem('not-found', 'No such object.');
  }
  const unknownQuery = details.find((d) => /^Unknown query parameter/i.test(d.message));
  if (unknownQuery) {
    return new ApiProblem('malformed-request', `${unknownQuery.message}. See the operation's parameters in the API reference.`);
  }
  const header = details.find((d) => /^[./]?headers[./]/.test(d.path));
  if (header) {
    return new ApiProblem('malformed-request', `The ${fieldOf(header.path).field} header ${header.message}.`);
  }
  // A path segment that is not valid percent-encoding fails before routing (the validator's
  // decodeURIComponent throws): no such object.
  if (details.some((d) => /malformed uri/i.test(d.message))) {
    return new ApiProblem('not-found', 'No such route or object.');
  }
  const errors = fieldErrors();
  for (const d of details) {
    const { field } = fieldOf(d.path);
    addFieldError(errors, field, messageFor(field, d.message, d.errorCode));
  }
  if (Object.keys(errors).length === 0) errors.body = [error.message];
  return validationProblem(errors);
}
