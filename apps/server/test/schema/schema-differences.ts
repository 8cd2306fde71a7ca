// Every way the migrated database differs from schema.prisma, one readable line each. What
// `prisma migrate diff` would tell us, had its engine been downloadable here.
import type { DatabaseIndex, DatabaseSchema } from './database-schema.ts';
import type { DefaultRule, IndexColumn, PrismaSchema, SchemaIndex } from './prisma-schema.ts';

/** Indexes Prisma's schema language cannot state, with what the migration must create. */
export type ExpressionIndex = { name: string; definition: string };

function renderSchemaIndex(index: SchemaIndex): string {
  const columns = index.columns.map((c) => (c.ops ? `${c.column} ${c.ops}` : c.column));
  return `${index.table} ${index.unique ? 'UNIQUE ' : ''}${index.method} (${columns.join(', ')})`;
}

/**
 * The database's index in the same words; an operator class is named when it is not the
 * column type's default, or when schema.prisma names one for the column.
 */
function renderDatabaseIndex(index: DatabaseIndex, declared: IndexColumn[] = []): string {
  const columns = index.columns.map((definition, i) => {
    const opclass = index.opclasses[i]!;
    const named = !index.defaultOpclasses[i] || declared[i]?.ops !== undefined;
    return named ? `${definition} ${opclass}` : definition;
  });
  const where = index.predicate ? ` WHERE ${index.predicate}` : '';
  return `${index.table} ${index.unique ? 'UNIQUE ' : ''}${index.method} (${columns.join(', ')})${where}`;
}

function renderDefault(rule: DefaultRule): string {
  if (rule.kind === 'none') return 'no default';
  if (rule.kind === 'database-generated') return 'a value the database generates (dbgenerated())';
  return `DEFAULT ${rule.sql}`;
}

const renderKey = (k: {
  table: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}) =>
  `${k.table} (${k.columns.join(', ')}) → ${k.referencedTable} (${k.referencedColumns.join(', ')}) ON DELETE ${k.onDelete} ON UPDATE ${k.onUpdate}`;

export function schemaDifferences(schema: PrismaSchema, db: DatabaseSchema, expressionIndexes: ExpressionIndex[]): string[] {
  const differences: string[] = [];
  const report = (line: string) => differences.push(line);

  // Tables: every model has exactly one table, every table a model.
  const modelsByTable = new Map<string, string[]>();
  for (const m of schema.models) modelsByTable.set(m.table, [...(modelsByTable.get(m.table) ?? []), m.name]);
  for (const [table, models] of modelsByTable) {
    if (models.length > 1) report(`models ${models.join(', ')} all map to the table ${table}`);
    if (!db.tables.includes(table))
      report(`model ${models[0]}: schema.prisma maps it to the table ${table}, which the database does not have`);
  }
  for (const table of db.tables) {
    if (!modelsByTable.has(table)) report(`table ${table}: in the database, but no model of schema.prisma maps to it`);
  }

  // Columns: type, nullability, default.
  const dbColumns = new Map(db.columns.map((c) => [`${c.table}.${c.column}`, c]));
  const schemaColumns = new Map(schema.columns.map((c) => [`${c.table}.${c.column}`, c]));
  for (const [key, expected] of schemaColumns) {
    const actual = dbColumns.get(key);
    if (!actual) {
      if (db.tables.includes(expected.table)) report(`column ${key}: in schema.prisma, not in the database`);
      continue;
    }
    if (actual.type !== expected.type) report(`column ${key}: schema.prisma says ${expected.type}, the database has ${actual.type}`);
    if (actual.nullable !== expected.nullable) {
      report(
        `column ${key}: schema.prisma says ${expected.nullable ? 'optional (NULL)' : 'required (NOT NULL)'}, the database has ${actual.nullable ? 'NULL' : 'NOT NULL'}`,
      );
    }
    const dbDefault = actual.generated
      ? 'a generated column'
      : actual.identity
        ? 'an identity column'
        : actual.default === null
          ? 'no default'
          : `DEFAULT ${actual.default}`;
    const defaultMatches =
      expected.default.kind === 'none'
        ? dbDefault === 'no default'
        : expected.default.kind === 'database-generated'
          ? dbDefault !== 'no default'
          : actual.default === expected.default.sql && !actual.generated;
    if (!defaultMatches) report(`column ${key}: schema.prisma says ${renderDefault(expected.default)}, the database has ${dbDefault}`);
  }
  for (const [key, actual] of dbColumns) {
    if (!schemaColumns.has(key) && modelsByTable.has(actual.table)) report(`column ${key}: in the database, not in schema.prisma`);
  }

  // Primary keys, by table.
  const render = (k: { name: string; columns: string[] } | undefined) => (k ? `${k.name} (${k.columns.join(', ')})` : 'none');
  for (const table of new Set([...schema.tables, ...db.tables])) {
    if (!schema.tables.includes(table) || !db.tables.includes(table)) continue;
    const expected = schema.primaryKeys.filter((k) => k.table === table);
    const actual = db.primaryKeys.find((k) => k.table === table);
    if (expected.length > 1) report(`table ${table}: schema.prisma declares ${expected.length} primary keys`);
    if (render(expected[0]) !== render(actual)) {
      report(`primary key of ${table}: schema.prisma says ${render(expected[0])}, the database has ${render(actual)}`);
    }
  }

  // Indexes (unique constraints included), by name. Primary keys' indexes were checked above.
  const dbIndexes = new Map(db.indexes.filter((i) => !i.primary).map((i) => [i.name, i]));
  const allowed = new Map(expressionIndexes.map((e) => [e.name, e]));
  const declared = new Map<string, SchemaIndex>();
  for (const index of schema.indexes) {
    if (declared.has(index.name)) report(`index ${index.name}: declared twice in schema.prisma`);
    declared.set(index.name, index);
    const actual = dbIndexes.get(index.name);
    const expected = renderSchemaIndex(index);
    if (!actual) report(`index ${index.name}: schema.prisma declares ${expected}, the database has no index of that name`);
    else if (renderDatabaseIndex(actual, index.columns) !== expected) {
      report(`index ${index.name}: schema.prisma says ${expected}, the database has ${renderDatabaseIndex(actual, index.columns)}`);
    }
  }
  for (const [name, actual] of dbIndexes) {
    if (declared.has(name)) continue;
    const expression = allowed.get(name);
    if (!expression) {
      report(
        `index ${name}: the database has ${renderDatabaseIndex(actual)}, schema.prisma does not declare it (nor does this test list it as an expression index)`,
      );
    } else if (renderDatabaseIndex(actual) !== expression.definition) {
      report(
        `index ${name}: this test expects the expression index ${expression.definition}, the database has ${renderDatabaseIndex(actual)}`,
      );
    }
  }
  for (const e of expressionIndexes) {
    if (!dbIndexes.has(e.name))
      report(`index ${e.name}: listed in this test as an expression index, the database has no index of that name`);
    if (declared.has(e.name)) report(`index ${e.name}: listed in this test as an expression index, yet schema.prisma declares it`);
  }

  // Foreign keys ↔ @relation(fields, references), by name.
  const dbKeys = new Map(db.foreignKeys.map((k) => [k.name, k]));
  const relations = new Map(schema.relations.map((r) => [r.name, r]));
  for (const [name, relation] of relations) {
    const actual = dbKeys.get(name);
    const where = `${relation.model}.${relation.field}`;
    if (!actual)
      report(
        `foreign key ${name}: schema.prisma's @relation ${where} says ${renderKey(relation)}, the database has no foreign key of that name`,
      );
    else if (renderKey(actual) !== renderKey(relation)) {
      report(`foreign key ${name}: schema.prisma's @relation ${where} says ${renderKey(relation)}, the database has ${renderKey(actual)}`);
    }
  }
  for (const [name, actual] of dbKeys) {
    if (!relations.has(name))
      report(`foreign key ${name}: the database has ${renderKey(actual)}, no @relation of schema.prisma declares it`);
  }

  // Extensions of the datasource.
  for (const e of schema.extensions)
    if (!db.extensions.includes(e)) report(`extension ${e}: in schema.prisma's datasource, not installed in the database`);
  for (const e of db.extensions)
    if (!schema.extensions.includes(e)) report(`extension ${e}: installed in the database, not in schema.prisma's datasource`);

  return differences;
}
