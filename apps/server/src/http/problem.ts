import type { Problem } from '@deals/api-types';

// The API's one error type. Everything that goes wrong becomes an ApiProblem, and the error
// handler (error-handler.ts) is the only place that writes an error response.
export type FieldErrors = NonNullable<Problem['errors']>;

// The kinds of problem the contract documents (components/responses), with the reference
// system's `message` where it has a fixed one.
const kinds = {
  'malformed-request': { status: 400, title: 'Malformed request' },
  'unauthenticated': { status: 401, title: 'Unauthenticated', message: 'Unauthenticated.' },
  'department-forbidden': { status: 403, title: 'Department not granted', message: 'This action is unauthorized.' },
  'not-found': { status: 404, title: 'Not found', message: 'Not found.' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'idempotency-key-in-use': { status: 409, title: 'Idempotency key in use' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
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

  body(instance: string): ProblemBody {
    const kind = kinds[this.kind];
    return {
      type: PROBLEM_TYPE_BASE + this.kind,
      title: kind.title,
      status: kind.status,
      detail: this.detail,
      instance,
      message: 'message' in kind ? kind.message : this.detail,
      ...(this.extra.errors ? { errors: this.extra.errors } : {}),
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
} as const;

export const notFound = (resource: keyof typeof notFoundDetail): ApiProblem =>
  new ApiProblem('not-found', notFoundDetail[resource]);
