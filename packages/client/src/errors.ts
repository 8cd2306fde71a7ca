import type { Problem } from '@deals/api-types';

/**
 * A non-2xx answer from the Deals API. `problem` is the RFC 9457 body the contract promises for
 * every error; it is undefined only when something in between (a proxy, a load balancer) answered
 * with a body that is not a problem, which `body` then keeps for diagnosis.
 */
export class DealsApiError extends Error {
  override readonly name = 'DealsApiError';
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly body: unknown;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined;
    super(
      problem
        ? `${response.status} ${problem.title}: ${problem.detail}`
        : `${response.status} ${response.statusText || 'error'} from ${response.url}`,
    );
    this.status = response.status;
    this.problem = problem;
    this.body = body;
    this.response = response;
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const { status, title, detail } = body as Record<string, unknown>;
  return typeof status === 'number' && typeof title === 'string' && typeof detail === 'string';
}

/** The data of the success branch of an openapi-fetch result (the branch whose `error` is absent). */
type SuccessData<R> = R extends { data: infer Data; error?: undefined } ? Data : never;

/**
 * Returns the data of a successful call or throws DealsApiError, for callers who prefer
 * exceptions to checking `error` after every call:
 * `const deal = unwrap(await deals.GET('/deals/{deal_id}', { params: { path: { deal_id } } }))`.
 * Returns undefined for 204 answers (deleteDeal).
 */
export function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(result: R): SuccessData<R> {
  // `response.ok` rather than `error !== undefined`: openapi-fetch leaves `error` undefined for
  // an error answer without a body, which must still throw.
  if (!result.response.ok) throw new DealsApiError(result.response, result.error);
  return result.data as SuccessData<R>;
}
