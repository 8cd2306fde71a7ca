// The tenancy domain functions in-process: the rejections and races the CLI tests leave out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  createDepartment,
  createEmployee,
  createTenant,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  seedDemoTenant,
  type TenancyDeps,
  TenancyError,
} from '../../src/admin/tenancy.ts';
import { generateApiKeySecret, hashApiKeySecret } from '../../src/auth/api-key-secret.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { uuidv7 } from '../../src/ids.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let testDb: TestDatabase;
let db: Database;
beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDatabase({ url: testDb.url, poolMax: 4, poolWaitMs: 5000, statementTimeoutMs: 10_000 });
});
afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

async function counts() {
  const { rows } = await db.pool.query(`SELECT
    (SELECT count(*)::int FROM tenants) AS tenants, (SELECT count(*)::int FROM departments) AS departments,
    (SELECT count(*)::int FROM steps) AS steps, (SELECT count(*)::int FROM employees) AS employees,
    (SELECT count(*)::int FROM department_employees) AS memberships,
    (SELECT count(*)::int FROM api_keys) AS keys, (SELECT count(*)::int FROM api_key_departments) AS grants`);
  return rows[0];
}

describe('tenancy', () => {
  let tenantId: string;
  let departmentId: string;
  beforeAll(async () => {
    tenantId = (await createTenant(db.prisma, { name: 'Acme' })).id;
    departmentId = (await createDepartment(db.prisma, { tenant_id: tenantId, name: 'Sales', steps: ['Lead'] })).id;
  });

  it('rejects malformed, unknown and foreign values and writes nothing', async () => {
    const other = await createTenant(db.prisma, { name: 'Globex' });
    const foreign = await createDepartment(db.prisma, { tenant_id: other.id, name: 'Sales', steps: ['Lead'] });
    const before = await counts();
    const unknownTenant = uuidv7();
    // Valid inputs, each spoiled in one place below.
    const department = { tenant_id: tenantId, name: 'A', steps: ['Lead'] };
    const employee = { tenant_id: tenantId, department_ids: [departmentId], first_name: 'A', last_name: 'B' };
    const key = { tenant_id: tenantId, department_ids: [departmentId] };
    const notOurs = `department ${foreign.id} does not belong to tenant ${tenantId}`;
    // Thunks, run one by one: a promise made early would reject before anyone listens.
    const rejections: Array<[() => Promise<unknown>, string]> = [
      [() => createTenant(db.prisma, { name: '  ' }), 'tenant name must not be empty'],
      [() => createTenant(db.prisma, { name: 'x'.repeat(256) }), 'tenant name must be at most 255 characters'],
      [() => createDepartment(db.prisma, { ...department, tenant_id: 'acme' }), 'tenant id "acme" is not a UUID'],
      [() => createDepartment(db.prisma, { ...department, steps: [] }), 'a department needs at least one step'],
      [() => createDepartment(db.prisma, { ...department, steps: ['Lead', ''] }), 'step name must not be empty'],
      [() => createDepartment(db.prisma, { ...department, steps: ['Lead', 'Lead'] }), 'step names must be unique'],
      [() => createDepartment(db.prisma, { ...department, tenant_id: unknownTenant }), `tenant ${unknownTenant} does not exist`],
      [() => createEmployee(db.prisma, { ...employee, department_ids: [departmentId, foreign.id] }), notOurs],
      [() => createEmployee(db.prisma, { ...employee, email: 'not-mail' }), 'email "not-mail" is not an email address'],
      [() => createApiKey(db.prisma, { ...key, department_ids: [] }), 'at least one department id is required'],
      [() => createApiKey(db.prisma, { ...key, department_ids: [foreign.id] }), notOurs],
      [() => revokeApiKey(db.prisma, { id: unknownTenant }), `API key ${unknownTenant} does not exist`],
      [() => listApiKeys(db.prisma, { tenant_id: unknownTenant }), `tenant ${unknownTenant} does not exist`],
    ];
    for (const [attempt, message] of rejections) {
      await expect(attempt()).rejects.toThrow(new TenancyError(message));
    }
    expect(await counts()).toEqual(before);
  });

  it("lists every key of the tenant and none of another tenant's", async () => {
    const other = await createTenant(db.prisma, { name: 'Initech' });
    const otherDepartment = await createDepartment(db.prisma, { tenant_id: other.id, name: 'Sales', steps: ['Lead'] });
    const theirs = await createApiKey(db.prisma, { tenant_id: other.id, department_ids: [otherDepartment.id], name: 'theirs' });
    const ours = await createApiKey(db.prisma, { tenant_id: tenantId, department_ids: [departmentId], name: 'ours' });
    // The listing is not paged: one call returns every key, so this sees all of them.
    const ourKeys = (await listApiKeys(db.prisma, { tenant_id: tenantId })).map((k) => k.id);
    expect(ourKeys).toContain(ours.id);
    expect(ourKeys).not.toContain(theirs.id);
    expect((await listApiKeys(db.prisma, { tenant_id: other.id })).map((k) => k.id)).toEqual([theirs.id]);
  });

  it('revoking twice keeps the first revocation time', async () => {
    const key = await createApiKey(db.prisma, { tenant_id: tenantId, department_ids: [departmentId] });
    const first = await revokeApiKey(db.prisma, { id: key.id });
    const second = await revokeApiKey(db.prisma, { id: key.id.toUpperCase() });
    expect(second).toEqual(first);
    expect(first.revoked_at).toBeInstanceOf(Date);
  });

  it('of two rotations of one key, exactly one succeeds; a revoked key cannot be rotated', async () => {
    const key = await createApiKey(db.prisma, { tenant_id: tenantId, department_ids: [departmentId], name: 'ci' });
    const results = await Promise.allSettled([rotateApiKey(db.prisma, { id: key.id }), rotateApiKey(db.prisma, { id: key.id })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toEqual(new TenancyError(`API key ${key.id} is already revoked; create a new key instead`));
    const listed = await listApiKeys(db.prisma, { tenant_id: tenantId });
    expect(listed.filter((k) => k.name === 'ci').map((k) => k.revoked_at === null)).toEqual([false, true]);
  });

  it('stores the hash of the secret it hands out, with ids from the injected generator', async () => {
    const secret = generateApiKeySecret();
    let n = 0;
    const deps: TenancyDeps = {
      newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
      newApiKeySecret: () => secret,
    };
    const key = await createApiKey(db.prisma, { tenant_id: tenantId, department_ids: [departmentId] }, deps);
    expect(key).toEqual({
      id: '00000000-0000-7000-8000-000000000001',
      api_key: secret.secret,
      prefix: secret.prefix,
      department_ids: [departmentId],
    });
    const { rows } = await db.pool.query('SELECT secret_hash FROM api_keys WHERE id = $1', [key.id]);
    expect(rows[0].secret_hash).toEqual(hashApiKeySecret(secret.secret));
  });

  describe('seedDemoTenant', () => {
    it('writes nothing when any part fails', async () => {
      const before = await counts();
      const failing: TenancyDeps = {
        newId: uuidv7,
        newApiKeySecret: () => {
          throw new Error('no randomness today');
        },
      };
      await expect(seedDemoTenant(db.prisma, failing)).rejects.toThrow('no randomness today');
      expect(await counts()).toEqual(before);
    });

    it("joins the caller's transaction, as the server's start-up seed may", async () => {
      const before = await counts();
      const demo = await db.prisma.$transaction((tx) => seedDemoTenant(tx), { timeout: 30_000 });
      expect(await counts()).toEqual({
        tenants: before.tenants + 1,
        departments: before.departments + 2,
        steps: before.steps + 7,
        employees: before.employees + 4,
        memberships: before.memberships + 4,
        keys: before.keys + 1,
        grants: before.grants + 2,
      });
      const keys = await listApiKeys(db.prisma, { tenant_id: demo.tenant_id });
      expect(keys.map((k) => k.department_ids)).toEqual([demo.departments.map((d) => d.id).sort()]);
    });
  });
});
