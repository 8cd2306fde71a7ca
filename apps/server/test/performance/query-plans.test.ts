// Every statement the data layer prepares is served by an index under the plan PostgreSQL
// really runs it with: the GENERIC plan that a named prepared statement (db/sql.ts) gets after
// five executions, one plan for all parameter values (generic-plans.ts). A query that stops
// using its index still passes every functional test on a small database and only hurts at a
// million rows; this file catches it without a million rows (loaded-database.ts).
//
// Checked for every variant (variants.ts: each list's filters × sorts × cursor, every write
// with each optional part, the key and idempotency lookups, the sweeper):
// - no sequential scan of a table that grows with tenants or traffic;
// - a cursor page starts its index scan at the cursor;
// - a search whose term has a trigram can fall back to its trigram lookup, one without never does;
// and, on their own, the statements of the database functions that read a table, planned as
// PostgreSQL plans them when they run (the search lookups: for each call, with the term).
// The last tests drop an index inside a rolled-back transaction and prove the checks fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Explained,
  functionsCalled,
  type GenericPlanSession,
  genericPlanSession,
  indexesUsed,
  keysetScansFromEdge,
  planText,
  seqScans,
  sqlLiteral,
} from './generic-plans.ts';
import { type LoadedDatabase, loadedDatabase } from './loaded-database.ts';
import { preparedOperations, type Variant, variants } from './variants.ts';

const WATCHED = new Set([
  'deals',
  'customers',
  'deal_customers',
  'deal_tombstones',
  'deal_step_changes',
  'idempotency_records',
  'api_keys',
  'api_key_departments',
  'steps',
  'employees',
  'department_employees',
]);
const TRIGRAM_INDEXES = new Set(['deals_name_search_idx', 'customers_search_idx']);
// The functions through which a search reaches its trigram index (data/bounded-search.ts).
const SEARCH_LOOKUPS = new Set(['api_deal_search_candidates', 'api_customer_search_candidates']);

type Failures = { seqScans: string[]; scansFromEdge: string[]; searches: string[] };

let loaded: LoadedDatabase;
let all: Variant[];

beforeAll(async () => {
  loaded = await loadedDatabase();
  all = await variants(loaded);
}, 180_000);

afterAll(async () => {
  await loaded?.close();
});

/** Explains every variant's statements in `session`; the failures of each check. */
async function check(session: GenericPlanSession, only: (v: Variant) => boolean = () => true): Promise<Failures & { explained: number }> {
  const failures: Failures = { seqScans: [], scansFromEdge: [], searches: [] };
  let explained = 0;
  for (const variant of all.filter(only)) {
    const plans: Explained[] = [];
    await variant.run(session.sql(plans));
    if (plans.length === 0) throw new Error(`${variant.label} ran no SQL`);
    explained += plans.length;
    for (const e of plans) {
      const scans = seqScans(e.plan, WATCHED);
      if (scans.length) failures.seqScans.push(`${variant.label}: ${scans.join(', ')}\n${planText(e.plan)}\n${e.sql}`);
      const edges = keysetScansFromEdge(e.plan);
      if (edges.length) failures.scansFromEdge.push(`${variant.label}: ${edges.join('; ')}`);
      const lookup = functionsCalled(e.plan).some((f) => SEARCH_LOOKUPS.has(f)) || indexesUsed(e.plan).some((i) => TRIGRAM_INDEXES.has(i));
      if (variant.search === 'trigram' && !lookup) failures.searches.push(`${variant.label}: no trigram lookup in\n${planText(e.plan)}`);
      if (variant.search === 'no trigram' && lookup)
        failures.searches.push(`${variant.label}: a trigram lookup for a term without a trigram`);
    }
  }
  return { ...failures, explained };
}

describe('generic plans on a loaded database', () => {
  let result: Awaited<ReturnType<typeof check>>;
  beforeAll(async () => {
    const session = await genericPlanSession(loaded.database.url);
    try {
      result = await check(session);
    } finally {
      await session.close();
    }
  }, 120_000);

  it('cover every data function that prepares a statement', () => {
    const covered = new Set(all.map((v) => v.operation));
    expect(preparedOperations().filter((op) => !covered.has(op))).toEqual([]);
    expect(preparedOperations().length).toBeGreaterThanOrEqual(13);
    expect(all.length).toBeGreaterThan(250);
    expect(result.explained).toBeGreaterThanOrEqual(all.length);
  });

  it('read no table that grows with tenants or traffic sequentially', () => {
    expect(result.seqScans, result.seqScans.join('\n\n')).toEqual([]);
  });

  // A keyset row that repeats the equality columns (`(d.tenant_id, d.department_id,
  // d.created_at, d.id) < (…)`) makes PostgreSQL start the scan at the department's edge, so a
  // page N rows deep reads N index entries: at 1,000,000 deals a page 900,000 deep read ~11,000
  // index pages (60–140 ms) where `… AND (d.created_at, d.id) < (…)` reads 5 (0.05 ms).
  it('start every cursor page at the cursor, not at the edge of the department', () => {
    expect(result.scansFromEdge, result.scansFromEdge.join('\n')).toEqual([]);
  });

  it('search a term through its trigram lookup when the walk does not settle the page, and never a term without a trigram', () => {
    expect(result.searches, result.searches.join('\n\n')).toEqual([]);
  });
});

describe('database functions that read a table', () => {
  it('use an index in every statement (the JSON builders read none: they are inlined)', async () => {
    const failures = (await functionPlans()).filter((p) => seqScans(p.plan, WATCHED).length).map((p) => `${p.sql}\n${planText(p.plan)}`);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });

  it('look a rare search term up in its trigram index, as planned for the call', async () => {
    const plans = (await functionPlans()).filter((p) => SEARCH_LOOKUPS.has(p.function));
    expect(plans.map((p) => p.function).sort()).toEqual([...SEARCH_LOOKUPS].sort());
    const failures = plans
      .filter((p) => !indexesUsed(p.plan).some((i) => TRIGRAM_INDEXES.has(i)))
      .map((p) => `${p.sql}\n${planText(p.plan)}`);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});

type FunctionPlan = Explained & { function: string };

/**
 * The plan of each statement of a database function that reads a watched table: the body of
 * an SQL function, the RETURN QUERY of a PL/pgSQL one. Each is PREPAREd under the function's
 * own settings (its SET clause): generic, the default, with NULL arguments (the values do not
 * matter); custom (plan_cache_mode = force_custom_plan), with the arguments of a real call,
 * since the plan is made for them.
 */
async function functionPlans(session?: GenericPlanSession): Promise<FunctionPlan[]> {
  const { scope } = loaded;
  // A deal name and a customer email that occur once or twice per department.
  const sampleArguments: Record<string, string[]> = {
    api_deal_search_candidates: [scope.tenantId, scope.departmentId, '%#1234%'],
    api_customer_search_candidates: [scope.tenantId, '%c1234.a@%'],
  };
  const { rows: functions } = await loaded.db.pool.query<{
    name: string;
    language: string;
    src: string;
    args: string[] | null;
    types: string[];
    config: string[] | null;
  }>(
    `SELECT p.proname AS name, l.lanname AS language, p.prosrc AS src, p.proargnames AS args, p.proconfig AS config,
            ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types
     FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'public'::regnamespace AND l.lanname IN ('sql', 'plpgsql')`,
  );
  const plans: FunctionPlan[] = [];
  for (const f of functions) {
    if (![...WATCHED].some((t) => new RegExp(`\\b(FROM|JOIN)\\s+${t}\\b`, 'i').test(f.src))) continue;
    const statement = f.language === 'sql' ? f.src : /\bRETURN\s+QUERY\s+([\s\S]+?);\s*END\b/i.exec(f.src)?.[1];
    if (!statement) throw new Error(`${f.name}: no statement this test knows how to explain (an SQL body or a RETURN QUERY)`);
    // Arguments referenced by name become $1, $2, … so the statement can be PREPAREd.
    let body = statement.trim().replace(/;\s*$/, '');
    (f.args ?? []).forEach((arg, i) => {
      body = body.replace(new RegExp(`\\b${arg}\\b`, 'g'), `$${i + 1}`);
    });
    const custom = (f.config ?? []).includes('plan_cache_mode=force_custom_plan');
    const sample = sampleArguments[f.name];
    if (custom && !sample) throw new Error(`${f.name} is planned per call: give this test the arguments of a real call`);
    const args = f.types.map((type, i) => (custom ? `${sqlLiteral(sample![i])}::${type}` : 'NULL'));
    const own = session ?? (await genericPlanSession(loaded.database.url));
    try {
      await own.query('SAVEPOINT function_plan');
      for (const setting of f.config ?? []) {
        const [name, value] = setting.split('=') as [string, string];
        await own.query(`SET LOCAL ${name} = ${sqlLiteral(value)}`);
      }
      await own.query(`PREPARE body_${f.name} (${f.types.join(', ')}) AS ${body}`);
      const { rows } = await own.query(`EXPLAIN (FORMAT JSON) EXECUTE body_${f.name} (${args.join(', ')})`);
      await own.query(`DEALLOCATE body_${f.name}`);
      await own.query('ROLLBACK TO SAVEPOINT function_plan');
      plans.push({ function: f.name, sql: `${f.name}: ${body}`, parameterTypes: f.types, plan: rows[0]['QUERY PLAN'][0].Plan });
    } finally {
      if (!session) await own.close();
    }
  }
  return plans;
}

describe('the checks themselves (each index dropped inside a rolled-back transaction)', () => {
  /** The failures of the variants matching `only` once `drop` ran in the session. */
  async function withDropped(drop: string[], only: (v: Variant) => boolean) {
    const session = await genericPlanSession(loaded.database.url);
    try {
      for (const statement of drop) await session.query(statement);
      return await check(session, only);
    } finally {
      await session.close();
    }
  }

  it("notice deals read without their indexes: the default list's generic plan scans the table", async () => {
    // The primary key goes too, with the foreign keys that need it.
    const { rows } = await loaded.db.pool.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'deals' AND indexname <> 'deals_pkey'`,
    );
    const result = await withDropped(
      [...rows.map((r) => `DROP INDEX ${r.indexname}`), 'ALTER TABLE deals DROP CONSTRAINT deals_pkey CASCADE'],
      (v) => v.label === 'listDeals no filter, sort=-created_at',
    );
    expect(result.seqScans.join('\n')).toContain('Seq Scan on deals');
    await expectIndexesBack(['deals_created_idx', 'deals_pkey']);
  });

  it("notice customer search without customers_search_idx: the rare term's lookup reads the tenant instead", async () => {
    const session = await genericPlanSession(loaded.database.url);
    try {
      await session.query('DROP INDEX customers_search_idx');
      const lookup = (await functionPlans(session)).find((p) => p.function === 'api_customer_search_candidates')!;
      expect(indexesUsed(lookup.plan)).not.toContain('customers_search_idx');
    } finally {
      await session.close();
    }
    await expectIndexesBack(['customers_search_idx']);
  });

  it('notice the idempotency lookups without their primary key', async () => {
    const result = await withDropped(
      ['ALTER TABLE idempotency_records DROP CONSTRAINT idempotency_records_pkey'],
      (v) => v.operation === 'readPriorResponse',
    );
    expect(result.seqScans.join('\n')).toContain('readPriorResponse: Seq Scan on idempotency_records');
    await expectIndexesBack(['idempotency_records_pkey']);
  });

  it('notice the expiry sweep without idempotency_records_expires_idx', async () => {
    const result = await withDropped(
      ['DROP INDEX idempotency_records_expires_idx'],
      (v) => v.operation === 'deleteExpiredIdempotencyRecords',
    );
    expect(result.seqScans.join('\n')).toContain('Seq Scan on idempotency_records');
    await expectIndexesBack(['idempotency_records_expires_idx']);
  });
});

async function expectIndexesBack(names: string[]) {
  const { rows } = await loaded.db.pool.query('SELECT 1 FROM pg_indexes WHERE indexname = ANY ($1)', [names]);
  expect(rows).toHaveLength(names.length);
}
