// Everything here derives from openapi/deals.yaml through src/generated/deals.ts.
import type { components, operations, paths } from './generated/deals.ts';

export type { components, operations, paths };

type Schemas = components['schemas'];
export type Deal = Schemas['Deal'];
export type DealCreate = Schemas['DealCreate'];
export type DealPatch = Schemas['DealPatch'];
export type DealTombstone = Schemas['DealTombstone'];
export type DealStepChange = Schemas['DealStepChange'];
export type Customer = Schemas['Customer'];
export type CustomerCreate = Schemas['CustomerCreate'];
export type CustomerPatch = Schemas['CustomerPatch'];
export type Step = Schemas['Step'];
export type Employee = Schemas['Employee'];
export type Problem = Schemas['Problem'];
export type OperationId = keyof operations;
