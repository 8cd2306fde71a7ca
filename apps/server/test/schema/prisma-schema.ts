// What schema.prisma says PostgreSQL should have, as Prisma itself reads the file: the DMMF from
// get_dmmf of @prisma/prisma-schema-wasm. That WebAssembly module is the one the `prisma` CLI
// ships (node_modules/prisma/build/prisma_schema_build_bg.wasm is the same file), so it parses
// and validates exactly as `prisma generate` does, offline. (`getDMMF` of @prisma/internals only
// wraps it, and is not installed; the CLI's own copy is bundled out of reach.)
//
// The DMMF describes the model for Prisma Client, not the database, so this file adds Prisma's
// documented rules for PostgreSQL: a scalar's column type (`@db.X`, or the scalar's default), a
// default's SQL, and the default names of keys, indexes and foreign keys. Three things the DMMF
// does not carry at all:
// - a foreign key's own name (`@relation(map: ...)`): foreign keys get Prisma's default name,
//   so a mapped one is reported as a difference, never matched by accident;
// - the datasource's `extensions` (neither get_dmmf nor get_config returns them): read from
//   their one line, after Prisma has validated it;
// - an index's `where:` (the partialIndexes preview feature, refused here for that reason) and
//   expression indexes, which schema.prisma cannot state at all: the schema test lists those.
// Whatever else the DMMF says that this file does not translate throws instead of being skipped:
// a construct skipped silently would be a difference the test could never report.
import type { DMMF } from '@prisma/client/runtime/client';
import { get_config, get_dmmf } from '@prisma/prisma-schema-wasm';

export type IndexColumn = { column: string; ops?: string };
export type SchemaIndex = { name: string; table: string; unique: boolean; method: string; columns: IndexColumn[] };
export type SchemaRelation = {
  name: string;
  model: string;
  field: string;
  table: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
};
/** What the database must have as the column's default. */
export type DefaultRule = { kind: 'none' } | { kind: 'expression'; sql: string } | { kind: 'database-generated' };
export type SchemaColumn = { table: string; column: string; type: string; nullable: boolean; default: DefaultRule };

export type PrismaSchema = {
  models: { name: string; table: string }[];
  extensions: string[];
  tables: string[];
  columns: SchemaColumn[];
  primaryKeys: { table: string; name: string; columns: string[] }[];
  indexes: SchemaIndex[];
  relations: SchemaRelation[];
};

const notUnderstood = (what: string): never => {
  throw new Error(`schema.prisma: ${what} is not understood by this test; teach prisma-schema.ts before using it`);
};

/** Prisma's reading of the schema; its validation errors (P1012) are thrown in its own words. */
function readDatamodel(schemaText: string): DMMF.Datamodel {
  try {
    const document = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schemaText]] }))) as DMMF.Document;
    return document.datamodel;
  } catch (error) {
    // The WebAssembly throws an Error whose message is `{"error_code", "message"}`, coloured for a terminal.
    const raw = error instanceof Error ? error.message : String(error);
    let message = raw;
    try {
      message = (JSON.parse(raw) as { message: string }).message;
    } catch {
      // not Prisma's JSON: keep the text as it is
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colour codes of Prisma's message
    throw new Error(`schema.prisma is not valid Prisma: ${message.replaceAll(/\u001b\[[0-9;]*m/g, '')}`);
  }
}

// Prisma's PostgreSQL column type for a scalar without @db.
const defaultNativeType: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

// @db.X(args), as the DMMF's nativeType ['X', args] → PostgreSQL's format_type() spelling.
const nativeTypes: Record<string, (args: string[]) => string> = {
  Uuid: () => 'uuid',
  Text: () => 'text',
  VarChar: ([n]) => (n ? `character varying(${n})` : 'character varying'),
  Char: ([n]) => `character(${n ?? 1})`,
  Timestamptz: ([p]) => `timestamp(${p ?? 6}) with time zone`,
  Timestamp: ([p]) => `timestamp(${p ?? 6}) without time zone`,
  Date: () => 'date',
  Time: ([p]) => `time(${p ?? 6}) without time zone`,
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  BigInt: () => 'bigint',
  Boolean: () => 'boolean',
  DoublePrecision: () => 'double precision',
  Real: () => 'real',
  Decimal: ([p, s]) => (p ? `numeric(${p},${s ?? 0})` : 'numeric'),
  Json: () => 'json',
  JsonB: () => 'jsonb',
  ByteA: () => 'bytea',
  Inet: () => 'inet',
  Citext: () => 'citext',
};

function columnType(where: string, field: DMMF.Field): string {
  let type: string | undefined;
  if (field.nativeType) {
    const [name, args] = field.nativeType;
    type = nativeTypes[name]?.([...args]) ?? notUnderstood(`${where}: @db.${name}`);
  } else {
    type = defaultNativeType[field.type] ?? notUnderstood(`${where}: the type ${field.type}`);
  }
  return field.isList ? `${type}[]` : type;
}

function defaultRule(where: string, field: DMMF.Field, type: string): DefaultRule {
  const value = field.default;
  if (value === undefined) return { kind: 'none' };
  if (typeof value === 'object') {
    if (!('name' in value)) return notUnderstood(`${where}: a list default`);
    const [arg, ...more] = value.args;
    if (value.name === 'now' && arg === undefined) return { kind: 'expression', sql: 'now()' };
    if (value.name === 'dbgenerated' && more.length === 0) {
      return arg === undefined ? { kind: 'database-generated' } : { kind: 'expression', sql: String(arg) };
    }
    // Generated by Prisma Client, not by the database.
    if (['uuid', 'cuid', 'ulid', 'nanoid'].includes(value.name)) return { kind: 'none' };
    return notUnderstood(`${where}: @default(${value.name}(...))`);
  }
  // A literal. The DMMF gives Int and Float as numbers, BigInt and Decimal as strings.
  if (['Int', 'BigInt', 'Float', 'Decimal', 'Boolean'].includes(field.type)) return { kind: 'expression', sql: String(value) };
  if (field.type === 'String' || field.type === 'Json') {
    // PostgreSQL shows a string constant cast to the column's type, without its modifiers.
    return { kind: 'expression', sql: `'${String(value).replaceAll("'", "''")}'::${type.replace(/\(.*?\)/, '')}` };
  }
  return notUnderstood(`${where}: @default(${JSON.stringify(value)})`);
}

// Prisma's referential actions → PostgreSQL's.
const referentialActions: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};
const INDEX_METHODS: Record<string, string> = { BTree: 'btree', Hash: 'hash', Gist: 'gist', Gin: 'gin', SpGist: 'spgist', Brin: 'brin' };

/**
 * Prisma's name for a key, index or foreign key without `map`: `{table}_{columns}_{suffix}`
 * (`{table}_pkey` for primary keys), cut to PostgreSQL's 63 bytes before the suffix
 * (ConstraintNames in prisma-engines' psl-core).
 */
const defaultName = (table: string, columns: string[], suffix: 'pkey' | 'key' | 'idx' | 'fkey') =>
  `${[table, ...columns].join('_').slice(0, 63 - suffix.length - 1)}_${suffix}`;

const tableOf = (model: DMMF.Model) => model.dbName ?? model.name;
/** Fields typed `Unsupported("…")`, per model: the DMMF leaves them out, indexes still name them. */
let unsupported = new Map<string, UnsupportedField[]>();
const columnOf = (model: DMMF.Model, fieldName: string): string => {
  if (unsupported.get(model.name)?.some((f) => f.name === fieldName)) return fieldName;
  const field = model.fields.find((f) => f.name === fieldName) ?? notUnderstood(`${model.name}.${fieldName}`);
  return field.dbName ?? field.name;
};

type UnsupportedField = { name: string; type: string; nullable: boolean; default: DefaultRule };

/**
 * `name Unsupported("type")` fields (PostgreSQL types Prisma has no scalar for, as xid8), read
 * from the text: the DMMF omits them. Only `?` and `@default(dbgenerated("…"))` are understood.
 */
function unsupportedFields(schemaText: string): Map<string, UnsupportedField[]> {
  const byModel = new Map<string, UnsupportedField[]>();
  for (const [, model, body] of schemaText.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    for (const [, name, type, optional, rest] of body!.matchAll(/^\s*(\w+)\s+Unsupported\("([^"]+)"\)(\?)?(.*)$/gm)) {
      const attributes = rest!.replace(/\/\/.*$/, '').trim();
      const generated = /^@default\(dbgenerated\("([^"]+)"\)\)$/.exec(attributes);
      if (attributes && !generated) notUnderstood(`${model}.${name}: ${attributes} on an Unsupported field`);
      const field: UnsupportedField = {
        name: name!,
        type: type!,
        nullable: optional === '?',
        default: generated ? { kind: 'expression', sql: generated[1]! } : { kind: 'none' },
      };
      byModel.set(model!, [...(byModel.get(model!) ?? []), field]);
    }
  }
  return byModel;
}

/** The foreign key a relation field declares with `fields`/`references`; none on its other side. */
function relationOf(models: Map<string, DMMF.Model>, model: DMMF.Model, field: DMMF.Field): SchemaRelation | undefined {
  const target = models.get(field.type) ?? notUnderstood(`${model.name}.${field.name}: the type ${field.type}`);
  const fields = field.relationFromFields ?? [];
  if (fields.length === 0) {
    // The other side of a relation, unless neither side has fields: an implicit many-to-many
    // relation, whose join table (_AToB) this test does not model.
    const back = target.fields.find((f) => f.relationName === field.relationName && f !== field);
    if (field.isList && back?.isList) notUnderstood(`${model.name}.${field.name}: an implicit many-to-many relation`);
    return undefined;
  }
  const table = tableOf(model);
  const columns = fields.map((name) => columnOf(model, name));
  return {
    name: defaultName(table, columns, 'fkey'),
    model: model.name,
    field: field.name,
    table,
    columns,
    referencedTable: tableOf(target),
    referencedColumns: (field.relationToFields ?? []).map((name) => columnOf(target, name)),
    // Prisma's defaults: Restrict (SetNull for an optional relation); onUpdate Cascade.
    onDelete: referentialActions[field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull')]!,
    onUpdate: referentialActions[field.relationOnUpdate ?? 'Cascade']!,
  };
}

// The DMMF's properties this file translates; any other one is something it would skip.
const FIELD_KEYS = new Set([
  'name',
  'dbName',
  'kind',
  'isList',
  'isRequired',
  'isUnique',
  'isId',
  'isReadOnly',
  'hasDefaultValue',
  'type',
  'nativeType',
  'default',
  'isGenerated',
  'isUpdatedAt',
  'relationName',
  'relationFromFields',
  'relationToFields',
  'relationOnDelete',
  'relationOnUpdate',
  'documentation',
]);
const INDEX_KEYS = new Set(['model', 'type', 'isDefinedOnField', 'name', 'dbName', 'algorithm', 'fields']);
const INDEX_FIELD_KEYS = new Set(['name', 'operatorClass']);

function unknownKey(object: object, known: Set<string>): string | undefined {
  return Object.keys(object).find((key) => !known.has(key));
}

/** The generators' preview features, from Prisma's get_config (the schema is valid by then). */
function previewFeatures(schemaText: string): string[] {
  const params = { prismaSchema: [['schema.prisma', schemaText]], datasourceOverrides: {}, ignoreEnvVarErrors: true, env: {} };
  const { config } = JSON.parse(get_config(JSON.stringify(params))) as { config: { generators: { previewFeatures: string[] }[] } };
  return config.generators.flatMap((g) => g.previewFeatures);
}

/** Reads a schema.prisma text (the file, or a test's edited copy of it). */
export function readPrismaSchema(schemaText: string): PrismaSchema {
  const datamodel = readDatamodel(schemaText);
  // The DMMF drops an index's `where:`, so a partial index would read as a full one.
  if (previewFeatures(schemaText).includes('partialIndexes')) notUnderstood('the partialIndexes preview feature');
  for (const e of datamodel.enums) notUnderstood(`enum ${e.name}`);
  for (const t of datamodel.types) notUnderstood(`type ${t.name}`);

  const models = new Map(datamodel.models.map((m) => [m.name, m]));
  unsupported = unsupportedFields(schemaText);
  const schema: PrismaSchema = {
    models: datamodel.models.map((m) => ({ name: m.name, table: tableOf(m) })),
    extensions: datasourceExtensions(schemaText),
    tables: datamodel.models.map(tableOf),
    columns: [],
    primaryKeys: [],
    indexes: [],
    relations: [],
  };

  for (const model of datamodel.models) {
    if (model.schema !== null) notUnderstood(`${model.name}: @@schema`);
    const table = tableOf(model);
    for (const field of model.fields) {
      const where = `${model.name}.${field.name}`;
      const unknown = unknownKey(field, FIELD_KEYS);
      if (unknown) notUnderstood(`${where}: the DMMF's ${unknown}`);
      if (field.kind === 'scalar') {
        const type = columnType(where, field);
        schema.columns.push({
          table,
          column: field.dbName ?? field.name,
          type,
          nullable: !field.isRequired,
          default: defaultRule(where, field, type),
        });
      } else if (field.kind === 'object') {
        const relation = relationOf(models, model, field);
        if (relation) schema.relations.push(relation);
      } else {
        notUnderstood(`${where}: a field of kind ${field.kind}`);
      }
    }
    for (const field of unsupported.get(model.name) ?? []) {
      schema.columns.push({ table, column: field.name, type: field.type, nullable: field.nullable, default: field.default });
    }
  }

  for (const index of datamodel.indexes) {
    const model = models.get(index.model) ?? notUnderstood(`an index of ${index.model}`);
    const table = tableOf(model);
    const unknown = unknownKey(index, INDEX_KEYS) ?? index.fields.map((f) => unknownKey(f, INDEX_FIELD_KEYS)).find(Boolean);
    if (unknown) notUnderstood(`${index.model}: an index's ${unknown}`);
    const columns: IndexColumn[] = index.fields.map((f) => ({
      column: columnOf(model, f.name),
      ...(f.operatorClass ? { ops: f.operatorClass } : {}),
    }));
    const names = columns.map((c) => c.column);
    if (index.type === 'id') {
      schema.primaryKeys.push({ table, name: index.dbName ?? defaultName(table, [], 'pkey'), columns: names });
      continue;
    }
    if (index.type === 'fulltext') notUnderstood(`${index.model}: @@fulltext`);
    const unique = index.type === 'unique';
    schema.indexes.push({
      name: index.dbName ?? defaultName(table, names, unique ? 'key' : 'idx'),
      table,
      unique,
      method:
        index.algorithm === undefined
          ? 'btree'
          : (INDEX_METHODS[index.algorithm] ?? notUnderstood(`${index.model}: an index of type ${index.algorithm}`)),
      columns,
    });
  }
  return schema;
}

/**
 * The datasource's `extensions = [a, b]`. Prisma validates the line (get_dmmf rejects a bad one)
 * but passes extensions only to its schema engine, so this is the one part read from the text.
 */
function datasourceExtensions(schemaText: string): string[] {
  const lines = [...schemaText.matchAll(/^\s*extensions\s*=\s*\[(.*)\]\s*$/gm)];
  if (lines.length > 1) notUnderstood('more than one extensions line');
  const list = lines[0]?.[1]?.trim();
  if (!list) return [];
  return list.split(',').map((item) => {
    const name = item.trim();
    return /^\w+$/.test(name) ? name : notUnderstood(`the extension ${name} (with arguments)`);
  });
}
