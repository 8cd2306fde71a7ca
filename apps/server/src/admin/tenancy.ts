// The tenant's setup, which the API itself never changes: tenants, departments with their
// pipeline of steps, employees, and API keys with their department grants. Used by the admin
// CLI and by the server's demo seed. Admin work is rare, so this is plain Prisma ORM code,
// every operation atomic on its own (or part of the caller's transaction).

import { generateApiKeySecret, type NewApiKeySecret } from '../auth/api-key-secret.ts';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { type IdGenerator, UUID_PATTERN, uuidv7 } from '../ids.ts';

export type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

/** Ids and secrets come from here so that tests can pin them. */
export type TenancyDeps = { newId: IdGenerator; newApiKeySecret: () => NewApiKeySecret };
const defaultDeps: TenancyDeps = { newId: uuidv7, newApiKeySecret: generateApiKeySecret };

/** A request the tenant's data rejects: a malformed value, an unknown or foreign id. */
export class TenancyError extends Error {}

export type TenantView = { id: string; name: string };
export type StepView = { id: string; name: string; position: number };
export type DepartmentView = { id: string; tenant_id: string; name: string; steps: StepView[] };
export type EmployeeView = {
  id: string;
  tenant_id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  department_ids: string[];
};
/** `api_key` is the secret: returned once, at creation, and stored only as a hash. */
export type NewApiKey = { id: string; api_key: string; prefix: string; department_ids: string[] };
export type RotatedApiKey = { id: string; api_key: string; prefix: string; replaces: string };
export type RevokedApiKey = { id: string; revoked_at: Date };
export type ApiKeyListing = {
  id: string;
  name: string | null;
  prefix: string;
  department_ids: string[];
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
};
export type DemoTenant = {
  tenant_id: string;
  api_key: string;
  departments: Array<{
    id: string;
    name: string;
    steps: StepView[];
    employees: Array<{ id: string; first_name: string; last_name: string }>;
  }>;
};

// Runs `work` in a transaction of its own, unless the caller already passed one.
async function atomically<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (!('$transaction' in db)) return work(db);
  // Prisma's 5 s default can be too short for a seed on a busy 2-core machine.
  return db.$transaction(work, { maxWait: 10_000, timeout: 30_000 });
}

// Checked here rather than left to PostgreSQL, whose "invalid input syntax for type uuid"
// names neither the flag nor the value.
function uuid(value: string, what: string): string {
  if (!UUID_PATTERN.test(value)) throw new TenancyError(`${what} "${value}" is not a UUID`);
  return value.toLowerCase();
}

function uuids(values: readonly string[], what: string): string[] {
  if (values.length === 0) throw new TenancyError(`at least one ${what} is required`);
  return [...new Set(values.map((v) => uuid(v, what)))];
}

// The API's contract caps names at 255 characters; what it cannot show, we do not store.
function text(value: string, what: string, max = 255): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new TenancyError(`${what} must not be empty`);
  if (trimmed.length > max) throw new TenancyError(`${what} must be at most ${max} characters`);
  return trimmed;
}

function email(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const address = text(value, 'email', 320);
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new TenancyError(`email "${address}" is not an email address`);
  return address;
}

async function requireTenant(tx: Tx, tenantId: string): Promise<void> {
  const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
  if (!tenant) throw new TenancyError(`tenant ${tenantId} does not exist`);
}

async function requireDepartments(tx: Tx, tenantId: string, departmentIds: string[]): Promise<void> {
  const found = await tx.department.findMany({
    where: { tenant_id: tenantId, id: { in: departmentIds } },
    select: { id: true },
  });
  const ours = new Set(found.map((d) => d.id));
  const foreign = departmentIds.find((id) => !ours.has(id));
  // The same answer whether the department is another tenant's or does not exist at all.
  if (foreign) throw new TenancyError(`department ${foreign} does not belong to tenant ${tenantId}`);
}

export async function createTenant(db: Db, input: { name: string }, deps = defaultDeps): Promise<TenantView> {
  const name = text(input.name, 'tenant name');
  return db.tenant.create({ data: { id: deps.newId(), name }, select: { id: true, name: true } });
}

export async function createDepartment(
  db: Db,
  input: { tenant_id: string; name: string; steps: readonly string[] },
  deps = defaultDeps,
): Promise<DepartmentView> {
  const tenantId = uuid(input.tenant_id, 'tenant id');
  const name = text(input.name, 'department name');
  const stepNames = input.steps.map((s) => text(s, 'step name'));
  if (stepNames.length === 0) throw new TenancyError('a department needs at least one step');
  if (new Set(stepNames).size !== stepNames.length) throw new TenancyError('step names must be unique');
  return atomically(db, async (tx) => {
    await requireTenant(tx, tenantId);
    const id = deps.newId();
    await tx.department.create({ data: { tenant_id: tenantId, id, name } });
    // Positions follow the given order, from 1: deals without a step start at position 1.
    const steps = stepNames.map((stepName, i) => ({ id: deps.newId(), name: stepName, position: i + 1 }));
    await tx.step.createMany({ data: steps.map((s) => ({ ...s, tenant_id: tenantId, department_id: id })) });
    return { id, tenant_id: tenantId, name, steps };
  });
}

export async function createEmployee(
  db: Db,
  input: {
    tenant_id: string;
    department_ids: readonly string[];
    first_name: string;
    last_name: string;
    email?: string | null;
  },
  deps = defaultDeps,
): Promise<EmployeeView> {
  const tenantId = uuid(input.tenant_id, 'tenant id');
  const departmentIds = uuids(input.department_ids, 'department id');
  const employee = {
    tenant_id: tenantId,
    id: deps.newId(),
    first_name: text(input.first_name, 'first name'),
    last_name: text(input.last_name, 'last name'),
    email: email(input.email),
  };
  return atomically(db, async (tx) => {
    await requireTenant(tx, tenantId);
    await requireDepartments(tx, tenantId, departmentIds);
    await tx.employee.create({ data: employee });
    await tx.departmentEmployee.createMany({
      data: departmentIds.map((department_id) => ({ tenant_id: tenantId, department_id, employee_id: employee.id })),
    });
    return { ...employee, department_ids: departmentIds };
  });
}

// Grants are not checked here: callers have checked them, or copy them from an existing key.
async function insertApiKey(tx: Tx, tenantId: string, name: string | null, departmentIds: string[], deps: TenancyDeps): Promise<NewApiKey> {
  const { secret, prefix, hash } = deps.newApiKeySecret();
  const id = deps.newId();
  await tx.apiKey.create({
    data: { tenant_id: tenantId, id, name, prefix, secret_hash: new Uint8Array(hash) },
  });
  await tx.apiKeyDepartment.createMany({
    data: departmentIds.map((department_id) => ({ tenant_id: tenantId, api_key_id: id, department_id })),
  });
  return { id, api_key: secret, prefix, department_ids: departmentIds };
}

export async function createApiKey(
  db: Db,
  input: { tenant_id: string; department_ids: readonly string[]; name?: string | null },
  deps = defaultDeps,
): Promise<NewApiKey> {
  const tenantId = uuid(input.tenant_id, 'tenant id');
  const departmentIds = uuids(input.department_ids, 'department id');
  const name = input.name === undefined || input.name === null ? null : text(input.name, 'key name');
  return atomically(db, async (tx) => {
    await requireTenant(tx, tenantId);
    await requireDepartments(tx, tenantId, departmentIds);
    return insertApiKey(tx, tenantId, name, departmentIds, deps);
  });
}

// Keys are addressed by id alone (an operator has the id from `key list`), so these look
// across tenants; fine for rare admin calls. The revocation time is the database's clock, the
// same clock the API's key lookup compares against.

/** Idempotent: revoking a revoked key returns its original revocation time. */
export async function revokeApiKey(db: Db, input: { id: string }): Promise<RevokedApiKey> {
  const id = uuid(input.id, 'API key id');
  const rows = await db.$queryRaw<RevokedApiKey[]>`
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
    WHERE id = ${id}::uuid
    RETURNING id::text AS id, revoked_at`;
  const revoked = rows[0];
  if (!revoked) throw new TenancyError(`API key ${id} does not exist`);
  return revoked;
}

/** A new key with the old one's tenant, name and grants; the old one is revoked. */
export async function rotateApiKey(db: Db, input: { id: string }, deps = defaultDeps): Promise<RotatedApiKey> {
  const id = uuid(input.id, 'API key id');
  return atomically(db, async (tx) => {
    // Revoking first locks the old key's row, so two rotations of one key cannot both succeed.
    const rows = await tx.$queryRaw<Array<{ tenant_id: string; name: string | null }>>`
      UPDATE api_keys SET revoked_at = now()
      WHERE id = ${id}::uuid AND revoked_at IS NULL
      RETURNING tenant_id::text AS tenant_id, name`;
    const old = rows[0];
    if (!old) {
      const exists = await tx.apiKey.findFirst({ where: { id }, select: { id: true } });
      throw new TenancyError(exists ? `API key ${id} is already revoked; create a new key instead` : `API key ${id} does not exist`);
    }
    const grants = await tx.apiKeyDepartment.findMany({
      where: { tenant_id: old.tenant_id, api_key_id: id },
      select: { department_id: true },
      orderBy: { department_id: 'asc' },
    });
    const created = await insertApiKey(
      tx,
      old.tenant_id,
      old.name,
      grants.map((g) => g.department_id),
      deps,
    );
    return { id: created.id, api_key: created.api_key, prefix: created.prefix, replaces: id };
  });
}

/** Every key of the tenant, revoked ones too; never a secret or its hash. */
export async function listApiKeys(db: Db, input: { tenant_id: string }): Promise<ApiKeyListing[]> {
  const tenantId = uuid(input.tenant_id, 'tenant id');
  return atomically(db, async (tx) => {
    // An unknown tenant is an error, not an empty list: it is most likely a mistyped id.
    await requireTenant(tx, tenantId);
    const keys = await tx.apiKey.findMany({
      where: { tenant_id: tenantId },
      orderBy: [{ created_at: 'asc' }, { id: 'asc' }],
      select: {
        id: true,
        name: true,
        prefix: true,
        created_at: true,
        revoked_at: true,
        last_used_at: true,
        departments: { select: { department_id: true }, orderBy: { department_id: 'asc' } },
      },
    });
    return keys.map(({ departments, ...key }) => ({
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      department_ids: departments.map((d) => d.department_id),
      created_at: key.created_at,
      revoked_at: key.revoked_at,
      last_used_at: key.last_used_at,
    }));
  });
}

const DEMO_DEPARTMENTS = [
  {
    name: 'Sales',
    steps: ['Lead', 'Qualified', 'Proposal', 'Won'],
    employees: [
      ['Ada', 'Lovelace'],
      ['Alan', 'Turing'],
    ],
  },
  {
    name: 'Partnerships',
    steps: ['Prospect', 'Negotiation', 'Signed'],
    employees: [
      ['Grace', 'Hopper'],
      ['Katherine', 'Johnson'],
    ],
  },
] as const;

/** A new tenant to try the API with: two departments, their employees, one key for both. */
export async function seedDemoTenant(db: Db, deps = defaultDeps): Promise<DemoTenant> {
  return atomically(db, async (tx) => {
    const tenant = await createTenant(tx, { name: 'Demo' }, deps);
    const departments: DemoTenant['departments'] = [];
    for (const demo of DEMO_DEPARTMENTS) {
      const department = await createDepartment(tx, { tenant_id: tenant.id, name: demo.name, steps: demo.steps }, deps);
      const employees = [];
      for (const [first_name, last_name] of demo.employees) {
        const employee = await createEmployee(
          tx,
          {
            tenant_id: tenant.id,
            department_ids: [department.id],
            first_name,
            last_name,
            email: `${first_name}.${last_name}@demo.example`.toLowerCase(),
          },
          deps,
        );
        employees.push({ id: employee.id, first_name, last_name });
      }
      departments.push({ id: department.id, name: department.name, steps: department.steps, employees });
    }
    const key = await createApiKey(tx, { tenant_id: tenant.id, department_ids: departments.map((d) => d.id), name: 'demo' }, deps);
    return { tenant_id: tenant.id, api_key: key.api_key, departments };
  });
}
