// What one attempt means for its delivery: the Standard Webhooks rules of issue #7 (2xx
// succeeds, 410 disables the endpoint, anything else is retried on the schedule of
// retry-schedule.ts until it runs out), as the row recordAttempts writes.
import type { AttemptOutcome, ClaimedDelivery } from '../../data/webhook-queue.ts';
import { nextAttemptDelayMs } from '../retry-schedule.ts';
import type { AttemptResult } from '../send.ts';

/** The contract's maxLength of a stored response body. */
const RESPONSE_BODY_MAX = 4096;

export function attemptOutcome(delivery: ClaimedDelivery, result: AttemptResult, now: Date, random: () => number): AttemptOutcome {
  const attemptsMade = delivery.attempt_count + 1;
  let outcome: AttemptOutcome['outcome'];
  let nextAttemptAt: string | null = null;
  if (result.error === null && result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
    outcome = 'succeeded';
  } else if (result.statusCode === 410) {
    outcome = 'gone';
  } else {
    const delay = nextAttemptDelayMs(attemptsMade, result, random);
    outcome = delay === null ? 'failed' : 'retry';
    if (delay !== null) nextAttemptAt = new Date(now.getTime() + delay).toISOString();
  }
  return {
    tenant_id: delivery.tenant_id,
    delivery_id: delivery.id,
    endpoint_id: delivery.endpoint_id,
    claimed_attempt_count: delivery.attempt_count,
    attempted_at: result.attemptedAt.toISOString(),
    status_code: result.statusCode,
    duration_ms: Math.max(0, Math.round(result.durationMs)),
    error: result.error,
    response_body: storableText(result.responseBody),
    outcome,
    next_attempt_at: nextAttemptAt,
  };
}

// PostgreSQL's text (and jsonb, which carries the outcomes to it) cannot hold NUL: a receiver
// answering with one would otherwise make the delivery's outcome impossible to record.
function storableText(body: string | null): string | null {
  if (body === null) return null;
  return body.slice(0, RESPONSE_BODY_MAX).replaceAll('\u0000', '\uFFFD');
}
