// What the migrated database has, read from pg_catalog: tables, columns, keys, indexes and
// foreign keys of the public schema (Prisma's migration bookkeeping left out).
import type pg from 'pg';

export type DatabaseColumn = {
  table: string;
  column: string;
  type: string;
  nullable: boolean;
  default: string | null;
  /** `GENERATED ALWAYS AS (...) STORED` columns. */
  generated: boolean;
  identity: boolean;
};
export type DatabaseIndex = {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  method: string;
  /** Each key column: its name, or the expression's text. */
  columns: string[];
  expressions: boolean[];
  opclasses: string[];
  defaultOpclasses: boolean[];
  predicate: string | null;
};
export type DatabaseForeignKey = {
  name: string;
  table: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
};
export type DatabaseSchema = {
  tables: string[];
  columns: DatabaseColumn[];
  primaryKeys: { table: string; name: string; columns: string[] }[];
  indexes: DatabaseIndex[];
  foreignKeys: DatabaseForeignKey[];
  extensions: string[];
};

const IGNORED_TABLES = ['_prisma_migrations'];

const actions: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

// PostgreSQL writes timestamp(6) (its default precision) without the precision.
const normalizeType = (type: string) => type.replace(/^(timestamp|time) (with|without) time zone/, '$1(6) $2 time zone');

export async function readDatabaseSchema(pool: pg.Pool): Promise<DatabaseSchema> {
  const tables = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> ALL ($1)
     ORDER BY 1`,
    [IGNORED_TABLES],
  );
  const columns = await pool.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    default: string | null;
    generated: boolean;
    identity: boolean;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
            a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> ALL ($1)
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
    [IGNORED_TABLES],
  );
  const primaryKeys = await pool.query<{ table: string; name: string; columns: string[] }>(
    `SELECT t.relname AS table, k.conname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS x (attnum, n)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum ORDER BY x.n) AS columns
     FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
     WHERE k.connamespace = 'public'::regnamespace AND k.contype = 'p' AND t.relname <> ALL ($1)
     ORDER BY 1`,
    [IGNORED_TABLES],
  );
  const indexes = await pool.query<DatabaseIndex>(
    `SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary, am.amname AS method,
            ARRAY(SELECT CASE WHEN x.attnum = 0 THEN pg_get_indexdef(ix.indexrelid, x.n::int, true) ELSE a.attname::text END
                  FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS x (attnum, n)
                  LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = x.attnum
                  WHERE x.n <= ix.indnkeyatts ORDER BY x.n) AS columns,
            ARRAY(SELECT x.attnum = 0 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS x (attnum, n) WHERE x.n <= ix.indnkeyatts ORDER BY x.n) AS expressions,
            ARRAY(SELECT oc.opcname::text FROM unnest(ix.indclass::oid[]) WITH ORDINALITY AS x (oid, n) JOIN pg_opclass oc ON oc.oid = x.oid ORDER BY x.n) AS opclasses,
            ARRAY(SELECT oc.opcdefault FROM unnest(ix.indclass::oid[]) WITH ORDINALITY AS x (oid, n) JOIN pg_opclass oc ON oc.oid = x.oid ORDER BY x.n) AS "defaultOpclasses",
            pg_get_expr(ix.indpred, ix.indrelid) AS predicate
     FROM pg_index ix
     JOIN pg_class i ON i.oid = ix.indexrelid
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_am am ON am.oid = i.relam
     WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> ALL ($1)
     ORDER BY 1`,
    [IGNORED_TABLES],
  );
  const foreignKeys = await pool.query<{
    name: string;
    table: string;
    columns: string[];
    referencedTable: string;
    referencedColumns: string[];
    onDelete: string;
    onUpdate: string;
  }>(
    `SELECT k.conname AS name, t.relname AS table, r.relname AS "referencedTable",
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS x (attnum, n)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum ORDER BY x.n) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS x (attnum, n)
                  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.attnum ORDER BY x.n) AS "referencedColumns",
            k.confdeltype AS "onDelete", k.confupdtype AS "onUpdate"
     FROM pg_constraint k
     JOIN pg_class t ON t.oid = k.conrelid
     JOIN pg_class r ON r.oid = k.confrelid
     WHERE k.connamespace = 'public'::regnamespace AND k.contype = 'f'
     ORDER BY 1`,
  );
  const extensions = await pool.query<{ name: string }>(`SELECT extname AS name FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`);
  return {
    tables: tables.rows.map((r) => r.name),
    columns: columns.rows.map((c) => ({ ...c, type: normalizeType(c.type) })),
    primaryKeys: primaryKeys.rows,
    indexes: indexes.rows,
    foreignKeys: foreignKeys.rows.map((k) => ({ ...k, onDelete: actions[k.onDelete]!, onUpdate: actions[k.onUpdate]! })),
    extensions: extensions.rows.map((r) => r.name),
  };
}
