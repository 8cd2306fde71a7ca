// The prepared statements of webhook delivery (issue #7, data/webhook-queue.ts); see variants.ts.
// Each function is one statement with one shape: a variant each.
import { claimDeliveries, dispatchEvents, recordAttempts, releaseLeases } from '../../src/data/webhook-queue.ts';
import { uuidv7 } from '../../src/ids.ts';
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

export async function webhookDeliveryVariants(loaded: LoadedDatabase, add: AddVariant): Promise<void> {
  const { scope } = loaded;
  const now = new Date();
  const workerId = 'plan-check:1';
  const delivery = { tenant_id: scope.tenantId, id: uuidv7() };
  add('dispatchEvents', '', (sql) => dispatchEvents(sql, now));
  add('claimDeliveries', '', (sql) => claimDeliveries(sql, { now, workerId, leaseMs: 35_000, limit: 100 }));
  add('recordAttempts', '', (sql) =>
    recordAttempts(sql, {
      now,
      workerId,
      failingDisableAfterMs: 5 * 86_400_000,
      outcomes: [
        {
          tenant_id: delivery.tenant_id,
          delivery_id: delivery.id,
          endpoint_id: uuidv7(),
          claimed_attempt_count: 0,
          attempted_at: now.toISOString(),
          status_code: 500,
          duration_ms: 12,
          error: 'http',
          response_body: 'oops',
          outcome: 'retry',
          next_attempt_at: new Date(now.getTime() + 5000).toISOString(),
        },
      ],
    }),
  );
  add('releaseLeases', '', (sql) => releaseLeases(sql, { now, workerId, deliveries: [delivery] }));
}
