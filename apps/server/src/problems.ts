import type { Problem } from '@deals/api-types';

// The API's one error type. Everything that goes wrong becomes an ApiProblem, and the error
// handler (error-handler.ts) is the only place that writes an error response.
export type FieldErrors = NonNullable<Problem['errors']>;

/**
 * An empty error map without a prototype: field names come from the client, and a field
 * called `constructor` or `__proto__` must be a key like any other.
 */
export const fieldErrors = (): FieldErrors => Object.create(null) as FieldErrors;

export function addFieldError(errors: FieldErrors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

// The contract bounds every string of a problem; parts echo what the client sent, so they
// are cut to those bounds rather than let a long URL or field name break the schema.
const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

function boundedErrors(errors: FieldErrors): FieldErrors {
  const bounded = fieldErrors();
  for (const [field, messages] of Object.entries(errors).slice(0, 200)) {
    bounded[cut(field, 200)] = messages.slice(0, 20).map((m) => cut(m, 500));
  }
  return bounded;
}

// The kinds of problem the contract documents (components/responses), with the reference
// system's `message` where it has a fixed one.
const kinds = {
  'malformed-request': { status: 400, title: 'Malformed request' },
  unauthenticated: { status: 401, title: 'Unauthenticated', message: 'Unauthenticated.' },
  'department-forbidden': { status: 403, title: 'Department not granted', message: 'This action is unauthorized.' },
  'not-found': { status: 404, title: 'Not found', message: 'Not found.' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'idempotency-key-in-use': { status: 409, title: 'Idempotency key in use' },
  'endpoint-disabled': { status: 409, title: 'Endpoint disabled' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'cursor-expired': { status: 410, title: 'Cursor expired' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'validation-error': { status: 422, title: 'Validation error', message: 'validation error' },
  'rate-limited': { status: 429, title: 'Too many requests', message: 'Too Many Attempts.' },
  'internal-error': { status: 500, title: 'Internal server error', message: 'Server Error' },
  'service-unavailable': { status: 503, title: 'Service unavailable', message: 'Service unavailable.' },
} as const satisfies Record<string, { status: number; title: string; message?: string }>;

export type ProblemKind = keyof typeof kinds;

export const PROBLEM_TYPE_BASE = 'https://deals-api.dev/problems/';

export type ProblemBody = Problem;

export class ApiProblem extends Error {
  readonly status: number;
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extra: { errors?: FieldErrors; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = kinds[kind].status;
  }

  /** `requestId` is the response's X-Request-Id, so that a logged body alone finds the request. */
  body(instance: string, requestId: string): ProblemBody {
    const kind = kinds[this.kind];
    const detail = cut(this.detail, 2000);
    return {
      type: PROBLEM_TYPE_BASE + this.kind,
      title: kind.title,
      status: kind.status,
      detail,
      instance: cut(instance, 2048),
      request_id: requestId,
      message: 'message' in kind ? kind.message : detail,
      ...(this.extra.errors ? { errors: boundedErrors(this.extra.errors) } : {}),
    };
  }
}

export const validationProblem = (errors: FieldErrors): ApiProblem => {
  const n = Object.keys(errors).length;
  return new ApiProblem('validation-error', `${n} field${n === 1 ? '' : 's'} failed validation.`, { errors });
};

// One message per resource: an id of another tenant or department gets exactly the answer a
// missing id gets.
const notFoundDetail = {
  deal: 'No deal with this id exists in this department.',
  customer: 'No customer with this id exists in this tenant.',
  event: 'No event with this id exists for this department.',
  webhookEndpoint: 'No webhook endpoint with this id exists in this department.',
} as const;

export const notFound = (resource: keyof typeof notFoundDetail): ApiProblem => new ApiProblem('not-found', notFoundDetail[resource]);
