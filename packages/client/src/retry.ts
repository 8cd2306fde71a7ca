export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retrying. Default 3. */
  retries?: number;
  /** First backoff step; attempt n waits up to baseDelayMs * 2^n. Default 200 ms. */
  baseDelayMs?: number;
  /** Upper bound for any single wait, Retry-After included. Default 10 s. */
  maxDelayMs?: number;
  /** Injectable for tests, so they neither wait nor depend on timers. The default ends early when the request is aborted. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Injectable for tests; returns a number in [0, 1) like Math.random. */
  random?: () => number;
}

export type FetchFn = (request: Request, init?: RequestInit) => Promise<Response>;

/**
 * Statuses that mean "not processed, ask again later": the contract sends Retry-After with each.
 * 429 (rate limit) and 503 (database unreachable or saturated) are retried for every method.
 * 409 means a request with the same Idempotency-Key is still running, so it is retried only for
 * requests that carry a key: the retry then gets the stored first response.
 */
const RETRY_ANY_METHOD = new Set([429, 503]);
const RETRY_WITH_IDEMPOTENCY_KEY = new Set([409]);

// Resolves early on abort: the next attempt then fails at once with the caller's AbortError.
const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

/**
 * Wraps the fetch that openapi-fetch calls (it passes one Request, after middleware ran) so that
 * transient failures are retried with exponential backoff and full jitter, honouring Retry-After.
 * Each attempt sends a clone of the original Request: a body can be read only once, and the
 * clone keeps every header, so a POST's Idempotency-Key is the same on every attempt.
 */
export function withRetry(fetchFn: FetchFn, options: RetryOptions = {}): FetchFn {
  const { retries = 3, baseDelayMs = 200, maxDelayMs = 10_000, sleep = defaultSleep, random = Math.random } = options;

  return async function retryingFetch(request, init) {
    const hasIdempotencyKey = request.headers.has('Idempotency-Key');
    for (let attempt = 0; ; attempt++) {
      const isLastAttempt = attempt >= retries;
      let response: Response;
      try {
        response = await fetchFn(isLastAttempt ? request : request.clone(), init);
      } catch (error) {
        // A network error may hit after the server acted, so only requests that are harmless to
        // repeat are retried: reads, and POSTs whose Idempotency-Key makes the server replay
        // the first answer. PATCH and DELETE surface the error (If-Match lets the caller decide).
        const safeToRepeat = request.method === 'GET' || request.method === 'HEAD' || (request.method === 'POST' && hasIdempotencyKey);
        if (isLastAttempt || !safeToRepeat || request.signal.aborted) throw error;
        await sleep(backoffMs(attempt, baseDelayMs, maxDelayMs, random), request.signal);
        continue;
      }

      const retryable = RETRY_ANY_METHOD.has(response.status) || (hasIdempotencyKey && RETRY_WITH_IDEMPOTENCY_KEY.has(response.status));
      if (!retryable || isLastAttempt || request.signal.aborted) return response;

      const retryAfter = retryAfterMs(response.headers.get('Retry-After'));
      // Free the connection before waiting; the body of a response we discard is never read.
      await response.body?.cancel();
      await sleep(
        retryAfter === undefined ? backoffMs(attempt, baseDelayMs, maxDelayMs, random) : Math.min(retryAfter, maxDelayMs),
        request.signal,
      );
    }
  };
}

/** "Full jitter" backoff: spreads clients that failed together so they do not retry together. */
export function backoffMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Retry-After in the contract's form, whole seconds; anything else falls back to backoff. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}
