// The admin CLI end to end: the real command line in a child process, a real PostgreSQL, and
// the rows it leaves behind. Each run costs about a second, so each test checks a lot.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDepartment, createTenant } from '../../src/admin/tenancy.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { runCli, runCliJson } from './run-cli.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

let testDb: TestDatabase;
let db: Database;
let pool: pg.Pool;
beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDatabase({ url: testDb.url, poolMax: 2, poolWaitMs: 5000, statementTimeoutMs: 10_000 });
  pool = db.pool;
});
afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

/** Every column of every row of the table, as text: where a leaked secret would show. */
async function tableText(table: string): Promise<string> {
  const [row] = await rows(`SELECT coalesce(json_agg(t)::text, '') AS text FROM ${table} t`);
  return row.text;
}

describe('admin CLI', () => {
  // Filled in order by the tests below, which build on each other like an operator would.
  let tenantId: string;
  let sales: { id: string; steps: Array<{ id: string; name: string; position: number }> };
  let support: { id: string };

  it('tenant create prints {id, name} and stores the tenant', async () => {
    const tenant = await runCliJson(testDb.url, ['tenant', 'create', '--name', 'Acme']);
    expect(tenant).toEqual({ id: expect.stringMatching(UUID_V7), name: 'Acme' });
    tenantId = tenant.id as string;
    expect(await rows('SELECT id, tenant_id, name FROM tenants WHERE id = $1', [tenantId])).toEqual([
      { id: tenantId, tenant_id: tenantId, name: 'Acme' },
    ]);
  });

  it('department create stores the steps at positions 1..n in the given order', async () => {
    sales = await runCliJson(testDb.url, [
      'department',
      'create',
      '--tenant',
      tenantId,
      '--name',
      'Sales',
      '--steps',
      'Lead, Qualified,Won',
    ]);
    expect(sales).toEqual({
      id: expect.stringMatching(UUID_V7),
      tenant_id: tenantId,
      name: 'Sales',
      steps: [
        { id: expect.stringMatching(UUID_V7), name: 'Lead', position: 1 },
        { id: expect.stringMatching(UUID_V7), name: 'Qualified', position: 2 },
        { id: expect.stringMatching(UUID_V7), name: 'Won', position: 3 },
      ],
    });
    expect(
      await rows('SELECT id, name, position FROM steps WHERE tenant_id = $1 AND department_id = $2 ORDER BY position', [
        tenantId,
        sales.id,
      ]),
    ).toEqual(sales.steps);
    // A second department, made in-process: the CLI path for departments is covered above.
    support = await createDepartment(db.prisma, { tenant_id: tenantId, name: 'Support', steps: ['Open', 'Closed'] });
  });

  it('employee create links the employee to every given department', async () => {
    const employee = await runCliJson(testDb.url, [
      'employee',
      'create',
      '--tenant',
      tenantId,
      '--departments',
      `${sales.id},${support.id}`,
      '--first-name',
      'Ada',
      '--last-name',
      'Lovelace',
      '--email',
      'ada@acme.example',
    ]);
    expect(employee).toEqual({
      id: expect.stringMatching(UUID_V7),
      tenant_id: tenantId,
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'ada@acme.example',
      department_ids: [sales.id, support.id],
    });
    const links = await rows('SELECT department_id FROM department_employees WHERE employee_id = $1 ORDER BY 1', [employee.id]);
    expect(links.map((l) => l.department_id)).toEqual([sales.id, support.id].sort());
  });

  describe('API keys', () => {
    let keyId: string;
    let rotatedId: string;

    it('key create shows the secret once and stores only its SHA-256 and prefix', async () => {
      const key = await runCliJson<{ id: string; api_key: string; prefix: string; department_ids: string[] }>(testDb.url, [
        'key',
        'create',
        '--tenant',
        tenantId,
        '--departments',
        `${sales.id},${support.id}`,
        '--name',
        'zapier',
      ]);
      expect(key).toEqual({
        id: expect.stringMatching(UUID_V7),
        api_key: expect.stringMatching(/^dk_/),
        prefix: expect.stringMatching(/^dk_/),
        department_ids: [sales.id, support.id],
      });
      expect(key.api_key.startsWith(`${key.prefix}_`)).toBe(true);
      keyId = key.id;
      const [stored] = await rows('SELECT tenant_id, name, prefix, secret_hash, revoked_at FROM api_keys WHERE id = $1', [keyId]);
      expect(stored).toEqual({
        tenant_id: tenantId,
        name: 'zapier',
        prefix: key.prefix,
        secret_hash: sha256(key.api_key),
        revoked_at: null,
      });
      expect(await tableText('api_keys')).not.toContain(key.api_key);
      expect(await tableText('api_key_departments')).not.toContain(key.api_key);
    });

    it('key rotate makes a key with the same tenant, name and grants and revokes the old one', async () => {
      const rotated = await runCliJson<{ id: string; api_key: string; prefix: string; replaces: string }>(testDb.url, [
        'key',
        'rotate',
        '--id',
        keyId,
      ]);
      expect(rotated).toEqual({
        id: expect.stringMatching(UUID_V7),
        api_key: expect.stringMatching(/^dk_/),
        prefix: expect.stringMatching(/^dk_/),
        replaces: keyId,
      });
      rotatedId = rotated.id;
      const keys = await rows(
        `SELECT k.id, k.tenant_id, k.name, k.secret_hash, k.revoked_at IS NOT NULL AS revoked,
                array(SELECT department_id::text FROM api_key_departments g
                      WHERE g.tenant_id = k.tenant_id AND g.api_key_id = k.id ORDER BY 1) AS grants
         FROM api_keys k WHERE k.id = ANY($1) ORDER BY k.id`,
        [[keyId, rotatedId]],
      );
      const grants = [sales.id, support.id].sort();
      expect(keys).toEqual([
        { id: keyId, tenant_id: tenantId, name: 'zapier', secret_hash: expect.any(Buffer), revoked: true, grants },
        {
          id: rotatedId,
          tenant_id: tenantId,
          name: 'zapier',
          secret_hash: sha256(rotated.api_key),
          revoked: false,
          grants,
        },
      ]);
    });

    it('key revoke sets revoked_at', async () => {
      const revoked = await runCliJson(testDb.url, ['key', 'revoke', '--id', rotatedId]);
      expect(revoked).toEqual({ id: rotatedId, revoked_at: expect.any(String) });
      const [stored] = await rows('SELECT revoked_at FROM api_keys WHERE id = $1', [rotatedId]);
      // Both sides are millisecond Dates cut from PostgreSQL's microseconds; allow the cut to differ.
      expect(Math.abs(Date.parse(revoked.revoked_at as string) - stored.revoked_at.getTime())).toBeLessThanOrEqual(1);
    });

    it('key list shows prefixes, names, grants and times, never a secret or a hash', async () => {
      const listing = await runCliJson<{ tenant_id: string; keys: Array<Record<string, unknown>> }>(testDb.url, [
        'key',
        'list',
        '--tenant',
        tenantId,
      ]);
      const grants = [sales.id, support.id].sort();
      const listed = (id: string) => ({
        id,
        name: 'zapier',
        prefix: expect.stringMatching(/^dk_/),
        department_ids: grants,
        created_at: expect.any(String),
        revoked_at: expect.any(String),
        last_used_at: null,
      });
      expect(listing).toEqual({ tenant_id: tenantId, keys: [listed(keyId), listed(rotatedId)] });
    });

    it('a department of another tenant exits 1, names it, and writes nothing', async () => {
      const other = await createTenant(db.prisma, { name: 'Globex' });
      const foreign = await createDepartment(db.prisma, { tenant_id: other.id, name: 'Sales', steps: ['Lead'] });
      const keyRows = `SELECT (SELECT count(*) FROM api_keys) AS keys,
                              (SELECT count(*) FROM api_key_departments) AS grants`;
      const before = await rows(keyRows);
      const result = await runCli(testDb.url, [
        'key',
        'create',
        '--tenant',
        tenantId,
        '--departments',
        `${sales.id},${foreign.id}`,
        '--json',
      ]);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: department ${foreign.id} does not belong to tenant ${tenantId}\n`,
      });
      expect(await rows(keyRows)).toEqual(before);
    });
  });

  it('a wrong command line exits 2 with a message, before touching the database', async () => {
    const unreachable = 'postgresql://nobody@127.0.0.1:1/none';
    const [unknownFlag, missingFlag] = await Promise.all([
      runCli(unreachable, ['tenant', 'create', '--name', 'Acme', '--colour', 'red', '--json']),
      runCli(unreachable, ['employee', 'create', '--tenant', 'x', '--departments', 'y', '--json']),
    ]);
    expect(unknownFlag).toMatchObject({ code: 2, stdout: '' });
    expect(unknownFlag.stderr).toMatch(/^error: Unknown option '--colour'/);
    expect(missingFlag).toMatchObject({ code: 2, stdout: '' });
    expect(missingFlag.stderr).toMatch(/^error: missing --first-name, --last-name\n/);
    expect(missingFlag.stderr).toContain('usage:');
  });
});

describe('admin CLI seed-demo', () => {
  // A database with no schema at all: the CLI must migrate it first, like the server does.
  const name = `deals_admin_empty_${process.pid}_${Date.now()}`;
  let url: string;
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(inject('adminDatabaseUrl'));
    u.pathname = `/${name}`;
    url = u.toString();
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('migrates an empty database and makes a new demo tenant on every call', async () => {
    type Demo = {
      tenant_id: string;
      api_key: string;
      departments: Array<{
        id: string;
        name: string;
        steps: Array<{ name: string; position: number }>;
        employees: unknown[];
      }>;
    };
    const demo = await runCliJson<Demo>(url, ['seed-demo']);
    expect(demo.tenant_id).toMatch(UUID_V7);
    expect(demo.departments.map((d) => [d.name, d.steps.map((s) => `${s.position}:${s.name}`)])).toEqual([
      ['Sales', ['1:Lead', '2:Qualified', '3:Proposal', '4:Won']],
      ['Partnerships', ['1:Prospect', '2:Negotiation', '3:Signed']],
    ]);
    for (const department of demo.departments) {
      expect(department.employees.length).toBeGreaterThanOrEqual(2);
      expect(department.employees[0]).toEqual({
        id: expect.stringMatching(UUID_V7),
        first_name: expect.any(String),
        last_name: expect.any(String),
      });
    }

    // The second call in text form, as an operator would read it.
    const second = await runCli(url, ['seed-demo']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^demo tenant [0-9a-f-]{36}\n/);
    expect(second.stdout).toMatch(/\n {2}dk_\S+\n/);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows: tenants } = await client.query('SELECT id FROM tenants ORDER BY id');
      expect(tenants).toHaveLength(2);
      expect(tenants[0].id).toBe(demo.tenant_id);
      // The demo key is stored by hash and granted every demo department.
      const { rows: grants } = await client.query(
        `SELECT g.department_id FROM api_keys k
         JOIN api_key_departments g ON g.tenant_id = k.tenant_id AND g.api_key_id = k.id
         WHERE k.secret_hash = $1 ORDER BY 1`,
        [sha256(demo.api_key)],
      );
      expect(grants.map((g) => g.department_id)).toEqual(demo.departments.map((d) => d.id).sort());
    } finally {
      await client.end();
    }
  });
});
