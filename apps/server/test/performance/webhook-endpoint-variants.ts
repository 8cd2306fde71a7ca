// The prepared statements of webhook endpoints, their delivery log, redeliver and recover
// (issue #7, data/webhook-endpoints.ts and data/webhook-deliveries.ts); see variants.ts. Most
// are one statement text whatever the request; the delivery log has a shape per filter and
// cursor. Cursors are the ones the server writes after a page (encodeCursor, same scope).

import { encodeCursor } from '../../src/data/pagination.ts';
import { listWebhookDeliveries, recoverWebhookEndpoint, redeliverEvent } from '../../src/data/webhook-deliveries.ts';
import {
  deleteWebhookEndpoint,
  findWebhookEndpoint,
  findWebhookEndpointSigning,
  insertWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from '../../src/data/webhook-endpoints.ts';
import { uuidv7 } from '../../src/ids.ts';
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

export async function webhookEndpointVariants(loaded: LoadedDatabase, add: AddVariant): Promise<void> {
  const { scope } = loaded;
  const endpointId = uuidv7();
  const eventId = uuidv7();
  const sealed = Buffer.alloc(60, 1);
  const at = '2026-01-01T00:00:00.000000Z';

  add('insertWebhookEndpoint', '', (sql) =>
    insertWebhookEndpoint(sql, scope, { url: 'https://partner.example.net/h', enabled_events: ['*'], description: 'd' }, uuidv7(), sealed),
  );
  add('findWebhookEndpoint', '', (sql) => findWebhookEndpoint(sql, scope, endpointId));
  add('findWebhookEndpointSigning', '', (sql) => findWebhookEndpointSigning(sql, scope, endpointId));
  add('listWebhookEndpoints', '', (sql) => listWebhookEndpoints(sql, scope, { limit: 50 }));
  const endpointsCursor = encodeCursor({ key: at, id: uuidv7() }, ['listWebhookEndpoints', scope.tenantId, scope.departmentId]);
  add('listWebhookEndpoints', 'cursor', (sql) => listWebhookEndpoints(sql, scope, { limit: 50, cursor: endpointsCursor }));
  add('updateWebhookEndpoint', 'every field', (sql) =>
    updateWebhookEndpoint(sql, scope, endpointId, {
      url: 'https://partner.example.net/h2',
      enabled_events: ['deal.created'],
      description: null,
      status: 'disabled',
    }),
  );
  add('deleteWebhookEndpoint', '', (sql) => deleteWebhookEndpoint(sql, scope, endpointId));
  add('rotateWebhookSecret', '', (sql) => rotateWebhookSecret(sql, scope, endpointId, sealed, 86_400));

  const filters = {
    'no filter': {},
    status: { status: 'failed' as const },
    event_id: { event_id: eventId },
    'status and event_id': { status: 'failed' as const, event_id: eventId },
  };
  for (const [name, filter] of Object.entries(filters)) {
    add('listWebhookDeliveries', name, (sql) => listWebhookDeliveries(sql, scope, endpointId, { ...filter, limit: 50 }));
    const cursor = encodeCursor({ key: at, id: uuidv7() }, [
      'listWebhookDeliveries',
      scope.tenantId,
      scope.departmentId,
      endpointId,
      'status' in filter ? filter.status : undefined,
      'event_id' in filter ? filter.event_id : undefined,
    ]);
    add('listWebhookDeliveries', `${name}, cursor`, (sql) =>
      listWebhookDeliveries(sql, scope, endpointId, { ...filter, cursor, limit: 50 }),
    );
  }
  add('redeliverEvent', '', (sql) => redeliverEvent(sql, scope, eventId, endpointId, uuidv7()));
  add('recoverWebhookEndpoint', '', (sql) => recoverWebhookEndpoint(sql, scope, endpointId, { since: at, until: undefined }));
}
