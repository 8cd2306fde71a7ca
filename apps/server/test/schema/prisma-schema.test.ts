// The migrated database matches prisma/schema.prisma: the SQL migrations are what creates the
// database (src/db/migrate.ts), schema.prisma is what Prisma Client is generated from, and
// nothing else keeps the two in step.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type DatabaseSchema, readDatabaseSchema } from './database-schema.ts';
import { readPrismaSchema } from './prisma-schema.ts';
import { type ExpressionIndex, schemaDifferences } from './schema-differences.ts';

const schemaPath = new URL('../../prisma/schema.prisma', import.meta.url);
const schemaText = readFileSync(schemaPath, 'utf8');

// Prisma's schema language has no expression indexes: these live in the migration only (the
// comment in schema.prisma's Customer model says so), and here with their full definition.
// customers_search_idx's expression must stay the one data/customers.ts searches, or the
// index is never used.
const expressionIndexes: ExpressionIndex[] = [
  { name: 'customers_email_idx', definition: 'customers btree (tenant_id, lower(email)) WHERE (email IS NOT NULL)' },
  {
    name: 'customers_search_idx',
    definition:
      "customers gin (lower((((((COALESCE(last_name, ''::text) || ' '::text) || COALESCE(first_name, ''::text)) || ' '::text) || COALESCE(company, ''::text)) || ' '::text) || COALESCE(email, ''::text)) gin_trgm_ops)",
  },
  { name: 'events_department_feed_idx', definition: 'events btree (tenant_id, department_id, txid, id) WHERE (department_id IS NOT NULL)' },
  { name: 'events_tenant_feed_idx', definition: 'events btree (tenant_id, txid, id) WHERE (department_id IS NULL)' },
  { name: 'webhook_deliveries_due_idx', definition: "webhook_deliveries btree (next_attempt_at) WHERE (status = 'pending'::text)" },
];

let database: TestDatabase;
let migrated: DatabaseSchema;
beforeAll(async () => {
  database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    migrated = await readDatabaseSchema(pool);
  } finally {
    await pool.end();
  }
});
afterAll(async () => {
  await database?.drop();
});

const differencesFrom = (text: string) => schemaDifferences(readPrismaSchema(text), migrated, expressionIndexes);

type Edit = [from: string | RegExp, to: string];

/** schema.prisma with edits, each of which must change it (or the case would prove nothing). */
function edited(...edits: Edit[]): string {
  return edits.reduce((text, [from, to]) => {
    const changed = text.replace(from, to);
    if (changed === text) throw new Error(`the edit ${String(from)} matches nothing in schema.prisma`);
    return changed;
  }, schemaText);
}

describe('schema.prisma', () => {
  it('declares exactly the tables, columns, keys, indexes and foreign keys of the migrated database', () => {
    expect(differencesFrom(schemaText)).toEqual([]);
  });

  it('is read completely: every model, column, index and relation the comparison relies on', () => {
    // Guards the reader itself: were it to skip lines, an empty difference list would be hollow.
    const schema = readPrismaSchema(schemaText);
    expect(schema.tables).toHaveLength(migrated.tables.length);
    expect(schema.columns).toHaveLength(migrated.columns.length);
    expect(schema.relations).toHaveLength(migrated.foreignKeys.length);
    expect(schema.indexes.length + expressionIndexes.length).toBe(migrated.indexes.filter((i) => !i.primary).length);
    expect(schema.primaryKeys).toHaveLength(migrated.primaryKeys.length);
  });

  it('names in a comment every expression index that this test allows beyond it', () => {
    for (const { name } of expressionIndexes) expect(schemaText).toContain(name);
  });

  it('rejects constructs this reader does not translate instead of skipping them', () => {
    expect(() => readPrismaSchema(`${schemaText}\nenum Stage {\n  Lead\n}\n`)).toThrow(/enum Stage is not understood/);
    expect(() => readPrismaSchema(edited(['website        String?', 'website        String? @db.Xml']))).toThrow(
      /@db.Xml is not understood/,
    );
    expect(() => readPrismaSchema(edited(['extensions = [pg_trgm]', 'extensions = [pg_trgm(version: "1.6")]']))).toThrow(
      /extension pg_trgm\(version: "1.6"\) \(with arguments\) is not understood/,
    );
    expect(() => readPrismaSchema(edited(['"postgresqlExtensions"]', '"postgresqlExtensions", "partialIndexes"]']))).toThrow(
      /partialIndexes preview feature is not understood/,
    );
  });

  it("is read by Prisma's own parser, whose validation errors are reported", () => {
    expect(() => readPrismaSchema(edited(['@@map("deals")', '@@map("deals")\n  @@fulltext([note], map: "deals_note_fts")']))).toThrow(
      /schema.prisma is not valid Prisma: .*Defining fulltext indexes is not supported with the current connector/,
    );
    expect(() =>
      readPrismaSchema(edited(['references: [tenant_id, id], onDelete: Cascade', 'references: [tenant_id, nope], onDelete: Cascade'])),
    ).toThrow(/not valid Prisma/);
  });
});

describe('a schema.prisma that drifted from the migrations', () => {
  // Each edit keeps schema.prisma valid Prisma (a relation gets both its sides): Prisma's parser rejects
  // anything else before a comparison could run.
  const cases: Array<{ drift: string; from: string | RegExp; to: string; also?: Edit; reported: string[] }> = [
    {
      drift: 'a column type',
      from: 'birthday       DateTime?      @db.Date',
      to: 'birthday       DateTime?      @db.Timestamptz(6)',
      reported: ['column customers.birthday: schema.prisma says timestamp(6) with time zone, the database has date'],
    },
    {
      drift: 'a native type left out (String is text)',
      from: 'step_id           String           @db.Uuid',
      to: 'step_id           String',
      reported: ['column deals.step_id: schema.prisma says text, the database has uuid'],
    },
    {
      drift: 'nullability',
      from: /(model Customer \{[\s\S]*?)email {10}String\?/,
      to: '$1email          String ',
      reported: ['column customers.email: schema.prisma says required (NOT NULL), the database has NULL'],
    },
    {
      drift: 'a default',
      from: 'volume            BigInt           @default(0)',
      to: 'volume            BigInt           @default(1)',
      reported: ['column deals.volume: schema.prisma says DEFAULT 1, the database has DEFAULT 0'],
    },
    {
      drift: 'a default the database does not have',
      from: 'expires_at       DateTime @db.Timestamptz(6)',
      to: 'expires_at       DateTime @default(now()) @db.Timestamptz(6)',
      reported: ['column idempotency_records.expires_at: schema.prisma says DEFAULT now(), the database has no default'],
    },
    {
      drift: 'a column the database lacks',
      from: 'note           String?\n  version        Int            @default(1)',
      to: 'note           String?\n  nickname       String?\n  version        Int            @default(1)',
      reported: ['column customers.nickname: in schema.prisma, not in the database'],
    },
    {
      drift: 'a column the schema lacks',
      from: /\n {2}last_used_at DateTime\?[^\n]*/,
      to: '',
      reported: ['column api_keys.last_used_at: in the database, not in schema.prisma'],
    },
    {
      drift: 'a model without its table',
      from: '@@map("deal_tombstones")',
      to: '@@map("deal_tombstone")',
      reported: [
        'model DealTombstone: schema.prisma maps it to the table deal_tombstone, which the database does not have',
        'table deal_tombstones: in the database, but no model of schema.prisma maps to it',
        'index deal_tombstones_deleted_idx: schema.prisma says deal_tombstone btree (tenant_id, department_id, deleted_at, id), the database has deal_tombstones btree (tenant_id, department_id, deleted_at, id)',
      ],
    },
    {
      drift: 'a primary key',
      from: '@@id([tenant_id, deal_id, customer_id])',
      to: '@@id([tenant_id, customer_id, deal_id])',
      reported: [
        'primary key of deal_customers: schema.prisma says deal_customers_pkey (tenant_id, customer_id, deal_id), the database has deal_customers_pkey (tenant_id, deal_id, customer_id)',
      ],
    },
    {
      drift: "an index's name",
      from: 'map: "customers_created_idx"',
      to: 'map: "customers_created_at_idx"',
      reported: [
        'index customers_created_at_idx: schema.prisma declares customers btree (tenant_id, created_at, id), the database has no index of that name',
        'index customers_created_idx: the database has customers btree (tenant_id, created_at, id), schema.prisma does not declare it (nor does this test list it as an expression index)',
      ],
    },
    {
      drift: "an index's columns",
      from: '@@index([tenant_id, department_id, volume, id], map: "deals_volume_idx")',
      to: '@@index([tenant_id, volume, id], map: "deals_volume_idx")',
      reported: [
        'index deals_volume_idx: schema.prisma says deals btree (tenant_id, volume, id), the database has deals btree (tenant_id, department_id, volume, id)',
      ],
    },
    {
      drift: "an index's operator class",
      from: 'name(ops: raw("gin_trgm_ops"))',
      to: 'name(ops: raw("gin_bigm_ops"))',
      reported: [
        'index deals_name_search_idx: schema.prisma says deals gin (name gin_bigm_ops), the database has deals gin (name gin_trgm_ops)',
      ],
    },
    {
      drift: 'a unique constraint declared as a plain index',
      from: '@@unique([tenant_id, department_id, position], map: "steps_department_position_key")',
      to: '@@index([tenant_id, department_id, position], map: "steps_department_position_key")',
      reported: [
        'index steps_department_position_key: schema.prisma says steps btree (tenant_id, department_id, position), the database has steps UNIQUE btree (tenant_id, department_id, position)',
      ],
    },
    {
      drift: "a relation's referential action",
      from: /(model DealCustomer \{[\s\S]*?)onDelete: Cascade/,
      to: '$1onDelete: NoAction',
      reported: [
        "foreign key deal_customers_tenant_id_deal_id_fkey: schema.prisma's @relation DealCustomer.deal says deal_customers (tenant_id, deal_id) → deals (tenant_id, id) ON DELETE NO ACTION ON UPDATE NO ACTION, the database has deal_customers (tenant_id, deal_id) → deals (tenant_id, id) ON DELETE CASCADE ON UPDATE NO ACTION",
      ],
    },
    {
      drift: 'a relation the database does not have',
      from: 'deleted_at    DateTime @default(now()) @db.Timestamptz(6)',
      to: 'deleted_at    DateTime @default(now()) @db.Timestamptz(6)\n  department    Department @relation(fields: [tenant_id, department_id], references: [tenant_id, id], onDelete: NoAction, onUpdate: NoAction)',
      also: [/(model Department \{[\s\S]*?\n {2}deals +Deal\[\])/, '$1\n  deal_tombstones DealTombstone[]'],
      reported: [
        "foreign key deal_tombstones_tenant_id_department_id_fkey: schema.prisma's @relation DealTombstone.department says deal_tombstones (tenant_id, department_id) → departments (tenant_id, id) ON DELETE NO ACTION ON UPDATE NO ACTION, the database has no foreign key of that name",
      ],
    },
    {
      drift: 'a foreign key without its @relation',
      from: /\n {2}employee {10}Employee\? +@relation[^\n]*/,
      to: '',
      also: [/(model Employee \{[\s\S]*?)\n {2}deals +Deal\[\]/, '$1'],
      reported: [
        'foreign key deals_tenant_id_employee_id_fkey: the database has deals (tenant_id, employee_id) → employees (tenant_id, id) ON DELETE NO ACTION ON UPDATE NO ACTION, no @relation of schema.prisma declares it',
      ],
    },
    {
      drift: 'an extension',
      from: 'extensions = [pg_trgm]',
      to: 'extensions = [pg_trgm, btree_gin]',
      reported: ["extension btree_gin: in schema.prisma's datasource, not installed in the database"],
    },
  ];

  it.each(cases)('is caught: $drift', ({ from, to, also, reported }) => {
    const differences = differencesFrom(edited([from, to], ...(also ? [also] : [])));
    expect(differences).toEqual(reported);
  });

  it('is caught: an expression index that this test does not list', () => {
    const differences = schemaDifferences(readPrismaSchema(schemaText), migrated, expressionIndexes.slice(1));
    expect(differences).toEqual([
      'index customers_email_idx: the database has customers btree (tenant_id, lower(email)) WHERE (email IS NOT NULL), schema.prisma does not declare it (nor does this test list it as an expression index)',
    ]);
  });

  it('is caught: an expression index whose definition changed', () => {
    const differences = schemaDifferences(readPrismaSchema(schemaText), migrated, [
      { name: 'customers_email_idx', definition: 'customers btree (tenant_id, email)' },
      ...expressionIndexes.slice(1),
    ]);
    expect(differences).toEqual([
      'index customers_email_idx: this test expects the expression index customers btree (tenant_id, email), the database has customers btree (tenant_id, lower(email)) WHERE (email IS NOT NULL)',
    ]);
  });
});
