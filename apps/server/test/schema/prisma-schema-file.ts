// A focused reader of schema.prisma: models, their columns, keys, indexes and relations, as
// PostgreSQL should have them. Prisma's own reader (getDMMF of @prisma/internals) is not
// installed, and the CLI's copy is bundled out of reach, so this reads the subset of Prisma's
// schema language the project uses, and throws on anything else: a construct it skipped
// silently would be a difference it could never report.

export type Value =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: string }
  | { kind: 'ident'; name: string }
  | { kind: 'call'; name: string; args: Args }
  | { kind: 'array'; items: Value[] };
export type Args = { positional: Value[]; named: Map<string, Value> };
type Attribute = { name: string; args: Args };

export type SchemaField = {
  name: string;
  column: string;
  type: string;
  list: boolean;
  optional: boolean;
  attributes: Attribute[];
};
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
export type SchemaColumn = { table: string; column: string; type: string; nullable: boolean; default: DefaultRule };
/** What the database must have as the column's default. */
export type DefaultRule = { kind: 'none' } | { kind: 'expression'; sql: string } | { kind: 'database-generated' };
export type SchemaModel = { name: string; table: string; fields: SchemaField[]; blockAttributes: Attribute[] };

export type PrismaSchema = {
  models: SchemaModel[];
  extensions: string[];
  tables: string[];
  columns: SchemaColumn[];
  primaryKeys: { table: string; name: string; columns: string[] }[];
  indexes: SchemaIndex[];
  relations: SchemaRelation[];
};

// ---- tokens and values ------------------------------------------------------------------

type Token = { kind: 'string' | 'number' | 'ident' | 'punct'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') j++;
        text += source[j];
        j++;
      }
      if (j >= source.length) throw new Error(`unterminated string in: ${source}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if ('()[],:'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      throw new Error(`unexpected character ${JSON.stringify(c)} in: ${source}`);
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly source: string) {}

  private fail(what: string): never {
    throw new Error(`schema.prisma: ${what} in: ${this.source}`);
  }
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  take(text?: string): Token {
    const t = this.tokens[this.i++];
    if (!t || (text !== undefined && t.text !== text)) this.fail(`expected ${text ?? 'more'}`);
    return t;
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }

  value(): Value {
    const t = this.take();
    if (t.kind === 'string') return { kind: 'string', value: t.text };
    if (t.kind === 'number') return { kind: 'number', value: t.text };
    if (t.text === '[') {
      const items: Value[] = [];
      while (this.peek()?.text !== ']') {
        items.push(this.value());
        if (this.peek()?.text === ',') this.take(',');
      }
      this.take(']');
      return { kind: 'array', items };
    }
    if (t.kind === 'ident') {
      if (this.peek()?.text === '(') return { kind: 'call', name: t.text, args: this.args() };
      return { kind: 'ident', name: t.text };
    }
    return this.fail(`unexpected ${t.text}`);
  }

  /** `( a, name: b, ... )` */
  args(): Args {
    const args: Args = { positional: [], named: new Map() };
    this.take('(');
    while (this.peek()?.text !== ')') {
      const t = this.peek();
      if (t?.kind === 'ident' && this.tokens[this.i + 1]?.text === ':') {
        this.take();
        this.take(':');
        args.named.set(t.text, this.value());
      } else {
        args.positional.push(this.value());
      }
      if (this.peek()?.text === ',') this.take(',');
    }
    this.take(')');
    return args;
  }
}

/** `@id @default(now()) @db.Timestamptz(6)` → attributes; also `@@index(...)` lines. */
function parseAttributes(source: string, prefix: '@' | '@@'): Attribute[] {
  const attributes: Attribute[] = [];
  // Split at the attribute markers outside strings; each piece is `name(args)` or `name`.
  const pieces: string[] = [];
  let current: string | undefined;
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '"' && source[i - 1] !== '\\') inString = !inString;
    if (!inString && source.startsWith(prefix, i) && (prefix === '@@' || source[i + 1] !== '@')) {
      if (current !== undefined) pieces.push(current);
      current = '';
      i += prefix.length - 1;
      continue;
    }
    if (current === undefined) {
      if (!/\s/.test(c)) throw new Error(`schema.prisma: unexpected ${JSON.stringify(source)}`);
      continue;
    }
    current += c;
  }
  if (current !== undefined) pieces.push(current);
  for (const piece of pieces) {
    const parser = new Parser(tokenize(piece), piece);
    const name = parser.take().text;
    const args = parser.peek()?.text === '(' ? parser.args() : { positional: [], named: new Map() };
    if (!parser.done()) throw new Error(`schema.prisma: trailing text in attribute @${piece}`);
    attributes.push({ name, args });
  }
  return attributes;
}

// ---- blocks -------------------------------------------------------------------------------

/** The source without comments (`//` to the end of a line, outside strings). */
function stripComments(source: string): string {
  return source
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        if (line[i] === '"' && line[i - 1] !== '\\') inString = !inString;
        if (!inString && line.startsWith('//', i)) return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

type Block = { keyword: string; name: string; lines: string[] };

function blocks(source: string): Block[] {
  const result: Block[] = [];
  const lines = stripComments(source).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const open = /^(\w+)\s+(\w+)\s*\{$/.exec(line);
    if (!open) throw new Error(`schema.prisma: expected a block, found ${JSON.stringify(line)}`);
    const block: Block = { keyword: open[1]!, name: open[2]!, lines: [] };
    for (i++; i < lines.length && lines[i]!.trim() !== '}'; i++) {
      if (lines[i]!.trim() !== '') block.lines.push(lines[i]!.trim());
    }
    if (i >= lines.length) throw new Error(`schema.prisma: block ${block.name} is not closed`);
    result.push(block);
  }
  return result;
}

function parseModel(block: Block): SchemaModel {
  const fields: SchemaField[] = [];
  const blockAttributes: Attribute[] = [];
  for (const line of block.lines) {
    if (line.startsWith('@@')) {
      blockAttributes.push(...parseAttributes(line, '@@'));
      continue;
    }
    const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
    if (!m) throw new Error(`schema.prisma: cannot read the field ${JSON.stringify(line)} of model ${block.name}`);
    const attributes = parseAttributes(m[5]!, '@');
    const mapped = attributes.find((a) => a.name === 'map');
    fields.push({
      name: m[1]!,
      column: mapped ? stringArg(mapped.args, 0, `@map of ${block.name}.${m[1]}`) : m[1]!,
      type: m[2]!,
      list: m[3] !== undefined,
      optional: m[4] !== undefined,
      attributes,
    });
  }
  const map = blockAttributes.find((a) => a.name === 'map');
  return { name: block.name, table: map ? stringArg(map.args, 0, `@@map of ${block.name}`) : block.name, fields, blockAttributes };
}

function stringArg(args: Args, position: number | string, what: string): string {
  const v = typeof position === 'number' ? args.positional[position] : args.named.get(position);
  if (v?.kind !== 'string') throw new Error(`schema.prisma: ${what} needs a string`);
  return v.value;
}

function identList(v: Value | undefined, what: string): string[] {
  if (v?.kind !== 'array') throw new Error(`schema.prisma: ${what} needs a list`);
  return v.items.map((item) => {
    if (item.kind !== 'ident') throw new Error(`schema.prisma: ${what} lists a non-field`);
    return item.name;
  });
}

// ---- what PostgreSQL should have ---------------------------------------------------------

const SCALARS = new Set(['String', 'Boolean', 'Int', 'BigInt', 'Float', 'Decimal', 'DateTime', 'Json', 'Bytes']);

// Prisma's PostgreSQL defaults for a scalar without @db.
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

// @db.X(args) → PostgreSQL's format_type() spelling.
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

function columnType(model: SchemaModel, field: SchemaField): string {
  const native = field.attributes.filter((a) => a.name.startsWith('db.'));
  let type: string;
  if (native.length === 0) {
    type = defaultNativeType[field.type]!;
  } else {
    const name = native[0]!.name.slice(3);
    const render = nativeTypes[name];
    if (!render || native.length > 1) throw new Error(`schema.prisma: ${model.name}.${field.name}: @db.${name} is not understood by this test`);
    type = render(native[0]!.args.positional.map((v) => (v.kind === 'number' ? v.value : '?')));
  }
  return field.list ? `${type}[]` : type;
}

function defaultRule(model: SchemaModel, field: SchemaField): DefaultRule {
  const attribute = field.attributes.find((a) => a.name === 'default');
  if (!attribute) return { kind: 'none' };
  const v = attribute.args.positional[0];
  const where = `${model.name}.${field.name} @default`;
  if (v?.kind === 'call' && v.name === 'now') return { kind: 'expression', sql: 'now()' };
  if (v?.kind === 'call' && v.name === 'dbgenerated') {
    const sql = v.args.positional[0];
    if (sql === undefined) return { kind: 'database-generated' };
    if (sql.kind !== 'string') throw new Error(`schema.prisma: ${where}: dbgenerated needs a string`);
    return { kind: 'expression', sql: sql.value };
  }
  // Generated by Prisma Client, not by the database.
  if (v?.kind === 'call' && ['uuid', 'cuid', 'ulid', 'nanoid'].includes(v.name)) return { kind: 'none' };
  if (v?.kind === 'number') return { kind: 'expression', sql: v.value };
  if (v?.kind === 'ident' && (v.name === 'true' || v.name === 'false')) return { kind: 'expression', sql: v.name };
  if (v?.kind === 'string') {
    const cast = field.type === 'Json' ? 'jsonb' : field.type === 'String' ? 'text' : undefined;
    if (cast) return { kind: 'expression', sql: `'${v.value.replaceAll("'", "''")}'::${cast}` };
  }
  throw new Error(`schema.prisma: ${where}(${JSON.stringify(v)}) is not understood by this test`);
}

// Prisma's referential actions → PostgreSQL's.
const referentialActions: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

function referentialAction(v: Value | undefined, fallback: string, what: string): string {
  if (v === undefined) return fallback;
  const action = v.kind === 'ident' ? referentialActions[v.name] : undefined;
  if (!action) throw new Error(`schema.prisma: ${what} has an unknown referential action`);
  return action;
}

const KNOWN_FIELD_ATTRIBUTES = new Set(['id', 'unique', 'default', 'map', 'relation', 'updatedAt']);
const KNOWN_BLOCK_ATTRIBUTES = new Set(['id', 'unique', 'index', 'map']);
const INDEX_TYPES: Record<string, string> = { BTree: 'btree', Hash: 'hash', Gist: 'gist', Gin: 'gin', SpGist: 'spgist', Brin: 'brin' };

export function parsePrismaSchema(source: string): PrismaSchema {
  const all = blocks(source);
  for (const b of all) {
    if (!['model', 'generator', 'datasource'].includes(b.keyword)) {
      throw new Error(`schema.prisma: ${b.keyword} ${b.name} is not understood by this test; teach it before using one`);
    }
  }
  const datasource = all.find((b) => b.keyword === 'datasource');
  const extensionsLine = datasource?.lines.find((l) => l.startsWith('extensions'));
  const extensions = extensionsLine ? identList(new Parser(tokenize(extensionsLine.replace(/^extensions\s*=/, '')), extensionsLine).value(), 'extensions') : [];

  const models = all.filter((b) => b.keyword === 'model').map(parseModel);
  const byName = new Map(models.map((m) => [m.name, m]));
  const schema: PrismaSchema = { models, extensions, tables: models.map((m) => m.table), columns: [], primaryKeys: [], indexes: [], relations: [] };

  for (const model of models) {
    const table = model.table;
    const columnOf = (fieldName: string): string => {
      const field = model.fields.find((f) => f.name === fieldName);
      if (!field) throw new Error(`schema.prisma: ${model.name} has no field ${fieldName}`);
      return field.column;
    };
    for (const field of model.fields) {
      for (const a of field.attributes) {
        if (!KNOWN_FIELD_ATTRIBUTES.has(a.name) && !a.name.startsWith('db.')) {
          throw new Error(`schema.prisma: ${model.name}.${field.name}: @${a.name} is not understood by this test`);
        }
      }
      const target = byName.get(field.type);
      if (target) {
        const relation = field.attributes.find((a) => a.name === 'relation');
        if (!relation || !relation.args.named.has('fields')) continue; // the other side of a relation
        const columns = identList(relation.args.named.get('fields'), `${model.name}.${field.name} fields`).map(columnOf);
        const referenced = identList(relation.args.named.get('references'), `${model.name}.${field.name} references`).map((name) => {
          const f = target.fields.find((x) => x.name === name);
          if (!f) throw new Error(`schema.prisma: ${model.name}.${field.name} references unknown ${target.name}.${name}`);
          return f.column;
        });
        const map = relation.args.named.get('map');
        schema.relations.push({
          name: map ? stringArg(relation.args, 'map', 'map') : `${table}_${columns.join('_')}_fkey`,
          model: model.name,
          field: field.name,
          table,
          columns,
          referencedTable: target.table,
          referencedColumns: referenced,
          // Prisma's defaults: Restrict (SetNull for optional relations), onUpdate Cascade.
          onDelete: referentialAction(relation.args.named.get('onDelete'), field.optional ? 'SET NULL' : 'RESTRICT', `${model.name}.${field.name} onDelete`),
          onUpdate: referentialAction(relation.args.named.get('onUpdate'), 'CASCADE', `${model.name}.${field.name} onUpdate`),
        });
        continue;
      }
      if (!SCALARS.has(field.type)) throw new Error(`schema.prisma: ${model.name}.${field.name} has the unknown type ${field.type}`);
      schema.columns.push({
        table,
        column: field.column,
        type: columnType(model, field),
        nullable: field.optional,
        default: defaultRule(model, field),
      });
      const id = field.attributes.find((a) => a.name === 'id');
      if (id) {
        const map = id.args.named.get('map');
        schema.primaryKeys.push({ table, name: map ? stringArg(id.args, 'map', 'map') : `${table}_pkey`, columns: [field.column] });
      }
      const unique = field.attributes.find((a) => a.name === 'unique');
      if (unique) {
        const map = unique.args.named.get('map');
        schema.indexes.push({
          name: map ? stringArg(unique.args, 'map', 'map') : `${table}_${field.column}_key`,
          table,
          unique: true,
          method: 'btree',
          columns: [{ column: field.column }],
        });
      }
    }

    for (const a of model.blockAttributes) {
      if (!KNOWN_BLOCK_ATTRIBUTES.has(a.name)) throw new Error(`schema.prisma: ${model.name}: @@${a.name} is not understood by this test`);
      if (a.name === 'map') continue;
      const list = a.args.positional[0] ?? a.args.named.get('fields');
      if (list?.kind !== 'array') throw new Error(`schema.prisma: ${model.name}: @@${a.name} needs a list of fields`);
      const columns: IndexColumn[] = list.items.map((item) => {
        if (item.kind === 'ident') return { column: columnOf(item.name) };
        if (item.kind === 'call') {
          const unknown = [...item.args.named.keys()].filter((k) => k !== 'ops');
          if (unknown.length > 0 || item.args.positional.length > 0) {
            throw new Error(`schema.prisma: ${model.name}: @@${a.name} argument ${unknown.join(', ')} of ${item.name} is not understood by this test`);
          }
          const ops = item.args.named.get('ops');
          const opsName = ops?.kind === 'call' && ops.name === 'raw' ? ops.args.positional[0] : ops;
          const opclass = opsName?.kind === 'string' ? opsName.value : opsName?.kind === 'ident' ? opsName.name : undefined;
          return { column: columnOf(item.name), ...(opclass ? { ops: opclass } : {}) };
        }
        throw new Error(`schema.prisma: ${model.name}: @@${a.name} lists something that is not a field`);
      });
      // `map` is the database's name; `name` (of @@id and @@unique) only names Prisma Client's API.
      const map = a.args.named.get('map');
      const mapName = map ? (map.kind === 'string' ? map.value : undefined) : undefined;
      if (map && mapName === undefined) throw new Error(`schema.prisma: ${model.name}: @@${a.name} map needs a string`);
      const names = columns.map((c) => c.column).join('_');
      if (a.name === 'id') {
        schema.primaryKeys.push({ table, name: mapName ?? `${table}_pkey`, columns: columns.map((c) => c.column) });
        continue;
      }
      const type = a.args.named.get('type');
      const method = type === undefined ? 'btree' : type.kind === 'ident' ? INDEX_TYPES[type.name] : undefined;
      if (!method) throw new Error(`schema.prisma: ${model.name}: @@${a.name} has an unknown type`);
      const unknownArgs = [...a.args.named.keys()].filter((k) => !['map', 'name', 'type', 'fields'].includes(k));
      if (unknownArgs.length > 0) throw new Error(`schema.prisma: ${model.name}: @@${a.name}(${unknownArgs.join(', ')}) is not understood by this test`);
      schema.indexes.push({
        name: mapName ?? `${table}_${names}_${a.name === 'unique' ? 'key' : 'idx'}`,
        table,
        unique: a.name === 'unique',
        method,
        columns,
      });
    }
  }
  return schema;
}
