// Tenants as partners meet them: a demo tenant (two departments, steps, employees, a key for
// both departments), plus a second tenant and a revoked key, for scope tests.
import type { DealCreate } from '@deals/api-types';
import { createApiKey, type DemoTenant, revokeApiKey, seedDemoTenant } from '../../src/admin/tenancy.ts';
import { requestExample } from '../../src/contract.ts';
import type { Database } from '../../src/db/database.ts';

export type World = {
  tenant: DemoTenant;
  apiKey: string;
  department: DemoTenant['departments'][number];
  otherDepartment: DemoTenant['departments'][number];
  /** A key of the same tenant granted only `otherDepartment`. */
  otherDepartmentKey: string;
  otherTenant: DemoTenant;
  revokedKey: string;
};

export async function seedWorld(db: Database): Promise<World> {
  const tenant = await seedDemoTenant(db.prisma);
  const [department, otherDepartment] = tenant.departments;
  const otherTenant = await seedDemoTenant(db.prisma);
  const otherDepartmentKey = await createApiKey(db.prisma, { tenant_id: tenant.tenant_id, department_ids: [otherDepartment!.id] });
  const revoked = await createApiKey(db.prisma, { tenant_id: tenant.tenant_id, department_ids: [department!.id] });
  await revokeApiKey(db.prisma, { id: revoked.id });
  return {
    tenant,
    apiKey: tenant.api_key,
    department: department!,
    otherDepartment: otherDepartment!,
    otherDepartmentKey: otherDepartmentKey.api_key,
    otherTenant,
    revokedKey: revoked.api_key,
  };
}

/** The reference page's request, as the contract's `reference` example states it. */
export const referenceRequest = requestExample('/deals', 'post', 'reference') as DealCreate & {
  customers: NonNullable<DealCreate['customers']>;
};
