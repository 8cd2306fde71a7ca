// Every operation of the contract, keyed by operationId. `satisfies Handlers` makes an
// operation without a handler, or a handler without an operation, a type error.
import type { Handlers } from './context.ts';
import { createCustomer } from './customers/createCustomer.ts';
import { getCustomer } from './customers/getCustomer.ts';
import { listCustomers } from './customers/listCustomers.ts';
import { updateCustomer } from './customers/updateCustomer.ts';
import { createDeal } from './deals/createDeal.ts';
import { deleteDeal } from './deals/deleteDeal.ts';
import { getDeal } from './deals/getDeal.ts';
import { listDealStepChanges } from './deals/listDealStepChanges.ts';
import { listDeals } from './deals/listDeals.ts';
import { updateDeal } from './deals/updateDeal.ts';
import { getEvent } from './events/getEvent.ts';
import { listEvents } from './events/listEvents.ts';
import { redeliverEvent } from './events/redeliverEvent.ts';
import { listEmployees } from './pipeline/listEmployees.ts';
import { listSteps } from './pipeline/listSteps.ts';
import { createWebhookEndpoint } from './webhooks/createWebhookEndpoint.ts';
import { deleteWebhookEndpoint } from './webhooks/deleteWebhookEndpoint.ts';
import { getWebhookEndpoint } from './webhooks/getWebhookEndpoint.ts';
import { listWebhookDeliveries } from './webhooks/listWebhookDeliveries.ts';
import { listWebhookEndpoints } from './webhooks/listWebhookEndpoints.ts';
import { recoverWebhookEndpoint } from './webhooks/recoverWebhookEndpoint.ts';
import { rotateWebhookSecret } from './webhooks/rotateWebhookSecret.ts';
import { testWebhookEndpoint } from './webhooks/testWebhookEndpoint.ts';
import { updateWebhookEndpoint } from './webhooks/updateWebhookEndpoint.ts';

export const handlers = {
  listDeals,
  createDeal,
  getDeal,
  updateDeal,
  deleteDeal,
  listDealStepChanges,
  listCustomers,
  createCustomer,
  getCustomer,
  updateCustomer,
  listSteps,
  listEmployees,
  listEvents,
  getEvent,
  redeliverEvent,
  listWebhookEndpoints,
  createWebhookEndpoint,
  getWebhookEndpoint,
  updateWebhookEndpoint,
  deleteWebhookEndpoint,
  rotateWebhookSecret,
  listWebhookDeliveries,
  recoverWebhookEndpoint,
  testWebhookEndpoint,
} satisfies Handlers;
