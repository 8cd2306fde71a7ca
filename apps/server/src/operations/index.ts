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
import { listEmployees } from './pipeline/listEmployees.ts';
import { listSteps } from './pipeline/listSteps.ts';

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
} satisfies Handlers;
