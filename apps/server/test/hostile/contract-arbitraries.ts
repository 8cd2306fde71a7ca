// fast-check arbitraries derived from the contract's JSON Schemas: values a schema accepts
// (`valid`) and values it must refuse (`invalid`: one hostile mutation somewhere in an
// otherwise valid value). Only the keywords the contract uses are supported; any other
// keyword throws, so a contract that grows a new one fails here instead of being fuzzed wrongly.
import fc, { type Arbitrary } from 'fast-check';

export type Schema = { [keyword: string]: unknown };

/** Where a value goes: header values must be visible ASCII, everything else may be any Unicode. */
export type Place = 'body' | 'query' | 'path' | 'header';

export type TranslatorOptions = {
  /** The parsed contract, for `$ref`s. */
  document: Schema;
  /**
   * Real values for a name (`step_id`, `customer_ids`, `If-Match` ...), drawn most of the
   * time instead of random ones so that requests reach the handlers' success paths.
   */
  pools: Record<string, readonly string[]>;
  /** Hostile values for a name that no schema keyword describes (e.g. tampered cursors). */
  hostile?: Record<string, readonly string[]>;
};

const SUPPORTED = new Set([
  '$ref',
  'type',
  'format',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'description',
  'examples',
  'example',
  'default',
]);

/** Keys an API must treat as data, never as the machinery of the objects it builds. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'] as const;

/** Strings that mean something to SQL, LIKE or regular expressions. */
export const METACHARACTERS = [
  "' OR 1=1 --",
  '%',
  '_',
  '\\',
  '.*',
  '(',
  '[',
  '$$',
  ';DROP TABLE deals;',
  '%_\\',
  "'; SELECT pg_sleep(5); --",
] as const;

const HEADER_CHARS = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const codePoints = (s: string) => Array.from(s).length;
const clampCodePoints = (s: string, max: number) => Array.from(s).slice(0, max).join('');
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** An own enumerable property, even for `__proto__` (plain assignment would set the prototype). */
export function withOwn(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object))
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

// Years far from today are where parsers disagree (PostgreSQL has no year 0).
const year = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1900, max: 2100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9999 }) },
);
const validDate = fc
  .tuple(year, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
  .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(Math.min(d, daysIn(y, m)))}`);
const validDateTime = fc
  .tuple(
    validDate,
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 59 }),
    fc.oneof(
      fc.constant(''),
      fc.integer({ min: 1, max: 9 }).map((n) => `.${'123456789'.slice(0, n)}`),
    ),
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('Z', 'z', '+00:00') },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
          .map(([s, h, m]) => `${s}${pad2(h)}:${pad2(m)}`),
      },
    ),
    fc.constantFrom('T', 't'),
  )
  .map(([date, h, mi, s, frac, zone, sep]) => `${date}${sep}${pad2(h)}:${pad2(mi)}:${pad2(s)}${frac}${zone}`);
const validEmail = fc
  .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,20}$/), fc.stringMatching(/^[a-z0-9]{1,20}$/), fc.constantFrom('com', 'example', 'de'))
  .map(([local, domain, tld]) => `${local.replace(/\.+$/, '').replace(/\.\.+/g, '.') || 'x'}@${domain}.${tld}`);

const INVALID_UUIDS = [
  '1',
  'not-a-uuid',
  '019cbd8b-dd90-7119-b13e-f99dc519c4a',
  '019cbd8b-dd90-7119-b13e-f99dc519c4ad0',
  '019cbd8bdd907119b13ef99dc519c4ad',
  '{019cbd8b-dd90-7119-b13e-f99dc519c4ad}',
  'urn:uuid:019cbd8b-dd90-7119-b13e-f99dc519c4ad',
  '019cbd8b-dd90-7119-b13e-f99dc519c4ag',
  ' 019cbd8b-dd90-7119-b13e-f99dc519c4ad',
  '..',
  '%00',
  "' OR 1=1 --",
];
const INVALID_DATES = [
  '2026-02-30',
  '2026-13-01',
  '1981-02-29',
  '20260101',
  '2026-1-1',
  '2026-01-01T00:00:00Z',
  'today',
  '9999-99-99',
  '-001-01-01',
];
const INVALID_DATE_TIMES = [
  '2026-03-05T24:00:00Z',
  '2026-03-05T10:61:00Z',
  '2026-03-05',
  '2026-03-05T10:00:00',
  'yesterday',
  '2026-02-30T00:00:00Z',
  '2026-03-05T10:00:00+24:00',
  '1e300',
  '2026-03-05 T10:00:00Z',
];
// Values patterns of the contract exist to refuse, e.g. the year 0000 PostgreSQL has not.
const PATTERN_EDGES = [
  '0000-01-01',
  '0000-12-31T23:59:59Z',
  '0000-01-01T00:00:00.000000Z',
  '2026-03-05T10:29:46Z',
  '2026-03-05T10:29:46.000000+00:00',
];
const INVALID_URIS = ['not a url', 'http//x.example', '://x.example', 'http://', 'ht tp://x.example', '/relative/path'];
const INVALID_EMAILS = ['no-at-sign', 'a@', '@b.example', 'a b@c.example', 'a@@b.example'];

export function translator({ document, pools, hostile = {} }: TranslatorOptions) {
  function resolve(schema: Schema): Schema {
    let current = schema;
    for (let hops = 0; typeof current.$ref === 'string'; hops++) {
      if (hops > 10) throw new Error(`$ref loop at ${String(schema.$ref)}`);
      const target = (current.$ref as string)
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Schema | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document) as
        | Schema
        | undefined;
      if (!target) throw new Error(`unresolvable $ref ${String(current.$ref)}`);
      // OpenAPI 3.1 allows siblings of $ref (a description); they do not constrain values.
      const { $ref: _ref, ...siblings } = current;
      current = { ...target, ...siblings };
    }
    for (const keyword of Object.keys(current)) {
      if (!SUPPORTED.has(keyword)) throw new Error(`the fuzzer does not translate the keyword "${keyword}" yet`);
    }
    return current;
  }

  const typesOf = (s: Schema): string[] => (Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : []);

  /** Most of the time a real value of the pool for this name, if it has one. */
  function pooled(name: string, fallback: Arbitrary<string>): Arbitrary<string> {
    const pool = pools[name];
    if (!pool?.length) return fallback;
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fallback });
  }

  function text(minLength: number, maxLength: number, place: Place): Arbitrary<string> {
    const unit = place === 'header' ? HEADER_CHARS : 'binary';
    const short = fc.string({ unit, minLength, maxLength: Math.max(minLength, Math.min(maxLength, 24)) });
    const longest = fc.string({ unit, minLength: maxLength, maxLength });
    const kinds = [
      { weight: 10, arbitrary: short },
      { weight: 1, arbitrary: maxLength <= 2000 ? longest : short },
    ];
    // Header values are visible ASCII only; the metacharacters include a space.
    if (place !== 'header') kinds.push({ weight: 2, arbitrary: fc.constantFrom(...METACHARACTERS) });
    return fc.oneof(...kinds).map((s) => {
      // NUL is not a valid character of any string of the contract ("Formats" section).
      let v = clampCodePoints(s.replace(/\0/g, ''), maxLength);
      while (codePoints(v) < minLength) v += 'x';
      return v;
    });
  }

  function validString(s: Schema, name: string, place: Place): Arbitrary<string> {
    const min = (s.minLength as number | undefined) ?? 0;
    const max = (s.maxLength as number | undefined) ?? 1000;
    const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
    // A pattern beside a format narrows it (e.g. no year 0000); rare misses are filtered out.
    const matching = (arb: Arbitrary<string>) => (pattern ? arb.filter((v) => pattern.test(v)) : arb);
    switch (s.format) {
      case 'uuid':
        return matching(
          pooled(
            name,
            fc.oneof(
              fc.uuid(),
              fc.uuid().map((u) => u.toUpperCase()),
            ),
          ),
        );
      case 'date':
        return matching(validDate);
      case 'date-time':
        return matching(validDateTime.filter((v) => v.length <= max));
      case 'email':
        return matching(validEmail.filter((v) => v.length <= max));
      case 'uri':
        // Webhook URLs: a closed port on 127.0.0.1 (tests allow private networks), so a test
        // send fails fast instead of resolving random names.
        return matching(
          pooled(
            name,
            fc.webPath().map((path) => `http://127.0.0.1:9${path.startsWith('/') ? path : `/${path}`}`.slice(0, max)),
          ).filter((v) => v.length >= min),
        );
      case undefined:
        break;
      default:
        throw new Error(`the fuzzer does not generate the string format "${String(s.format)}" yet`);
    }
    if (pattern) {
      let generated: Arbitrary<string>;
      try {
        generated = fc.stringMatching(pattern).map((v) => v.slice(0, max));
      } catch {
        generated = text(min, max, place); // a pattern fast-check cannot invert (lookarounds)
      }
      return pooled(
        name,
        generated.filter((v) => codePoints(v) >= min && pattern.test(v)),
      );
    }
    return pooled(name, text(min, max, place));
  }

  function validInteger(s: Schema): Arbitrary<number> {
    const min = (s.minimum as number | undefined) ?? -MAX_SAFE;
    const max = (s.maximum as number | undefined) ?? MAX_SAFE;
    const small = fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) });
    const wide = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
    return fc.oneof({ weight: 6, arbitrary: small }, { weight: 1, arbitrary: wide }, { weight: 2, arbitrary: fc.constantFrom(min, max) });
  }

  function valid(schema: Schema, name = '', place: Place = 'body'): Arbitrary<unknown> {
    const s = resolve(schema);
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    if (Array.isArray(s.anyOf)) return fc.oneof(...(s.anyOf as Schema[]).map((sub) => valid(sub, name, place)));
    if (Array.isArray(s.oneOf)) return fc.oneof(...(s.oneOf as Schema[]).map((sub) => valid(sub, name, place)));
    const types = typesOf(s);
    if (types.length === 0) throw new Error(`schema without a type: ${JSON.stringify(s).slice(0, 200)}`);
    const arbitraries = types.map((type) => ({ weight: type === 'null' ? 1 : 4, arbitrary: validOfType(s, type, name, place) }));
    return fc.oneof(...arbitraries);
  }

  function validOfType(s: Schema, type: string, name: string, place: Place): Arbitrary<unknown> {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'string':
        return validString(s, name, place);
      case 'integer':
        return validInteger(s);
      case 'array':
        return validArray(s, name, place);
      case 'object':
        return validObject(s, place);
      default:
        throw new Error(`the fuzzer does not generate the type "${type}" yet`);
    }
  }

  function validArray(s: Schema, name: string, place: Place): Arbitrary<unknown[]> {
    const items = valid(s.items as Schema, name, place);
    const minItems = (s.minItems as number | undefined) ?? 0;
    const maxItems = (s.maxItems as number | undefined) ?? 10;
    const usual = Math.max(minItems, Math.min(maxItems, 4));
    const few = s.uniqueItems
      ? fc.uniqueArray(items, { minLength: minItems, maxLength: usual, selector: (v) => JSON.stringify(v) })
      : fc.array(items, { minLength: minItems, maxLength: usual });
    const full = s.uniqueItems
      ? fc.uniqueArray(items, { minLength: maxItems, maxLength: maxItems, selector: (v) => JSON.stringify(v) })
      : fc.array(items, { minLength: maxItems, maxLength: maxItems });
    // A pool smaller than maxItems cannot fill a unique array; then the few it has must do.
    const canFill = !s.uniqueItems || (pools[name]?.length ?? Infinity) >= maxItems * 2;
    return canFill ? fc.oneof({ weight: 12, arbitrary: few }, { weight: 1, arbitrary: full }) : few;
  }

  function validObject(s: Schema, place: Place): Arbitrary<Record<string, unknown>> {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const required = (s.required ?? []) as string[];
    const model = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, valid(sub, key, place)]));
    const minProperties = (s.minProperties as number | undefined) ?? 0;
    return fc.record(model, { requiredKeys: required }).filter((o) => Object.keys(o).length >= minProperties) as Arbitrary<
      Record<string, unknown>
    >;
  }

  // ---- invalid values ------------------------------------------------------------------------

  const wrongTypes: Record<string, unknown[]> = {
    string: [12, true, {}, ['x'], 1e300],
    integer: ['12', true, {}, [1], 1.5, '1e3'],
    boolean: ['true', 1, 0, 'yes', {}],
    array: ['x', 1, {}, { 0: 'x' }],
    object: ['x', 1, [], true],
    null: [],
  };

  function wrongType(s: Schema): Arbitrary<unknown> | undefined {
    const types = typesOf(s);
    const candidates = types.flatMap((t) => wrongTypes[t] ?? []).filter((v) => !types.includes(jsonType(v)));
    if (!types.includes('null')) candidates.push(null);
    return candidates.length ? fc.constantFrom(...candidates) : undefined;
  }

  function insertAt(value: string, inserted: string): Arbitrary<string> {
    return fc.nat({ max: value.length }).map((i) => {
      // Never split a surrogate pair: the point is the inserted character, not a broken neighbour.
      const at = Array.from(value).slice(0, i).join('').length;
      return value.slice(0, at) + inserted + value.slice(at);
    });
  }

  function invalidString(s: Schema, name: string, place: Place): Arbitrary<unknown> {
    const min = (s.minLength as number | undefined) ?? 0;
    const max = (s.maxLength as number | undefined) ?? 1000;
    const base = validString(s, name, place);
    const mutations: Arbitrary<unknown>[] = [];
    if (place === 'header') {
      mutations.push(fc.constantFrom('x'.repeat(max + 1), 'y'.repeat(max * 4 + 1)));
    } else {
      // Long enough to outgrow anything the server echoes back (a path in `instance`, a field
      // name in a message), short enough for Node's 16 KB limit on the request head.
      const long = Math.min(Math.max(max * 4 + 1, 2100), place === 'body' ? 20_000 : 8000);
      mutations.push(
        fc.constantFrom('x'.repeat(max + 1), 'é'.repeat(max + 1), '😀'.repeat(max + 1), 'y'.repeat(long)),
        base.chain((v) => insertAt(v, '\u0000')),
        base.chain((v) => fc.constantFrom('\ud800', '\udfff', '\udc00\ud800').chain((lone) => insertAt(v, lone))),
      );
    }
    if (min > 0) mutations.push(fc.constant(''));
    if (s.format === 'uuid') mutations.push(fc.constantFrom(...INVALID_UUIDS));
    if (s.format === 'date') mutations.push(fc.constantFrom(...INVALID_DATES));
    if (s.format === 'date-time') mutations.push(fc.constantFrom(...INVALID_DATE_TIMES));
    if (s.format === 'email') mutations.push(fc.constantFrom(...INVALID_EMAILS));
    if (s.format === 'uri') mutations.push(fc.constantFrom(...INVALID_URIS));
    if (hostile[name]?.length) mutations.push(fc.constantFrom(...hostile[name]!));
    if (typeof s.pattern === 'string') {
      const pattern = new RegExp(s.pattern, 'u');
      const misses = ['a b', 'abc=', 'a+b/c', '!', '漢字', '%00', ...PATTERN_EDGES].filter((v) => !pattern.test(v));
      if (misses.length) mutations.push(fc.constantFrom(...misses));
    }
    return fc.oneof(...mutations);
  }

  function invalidInteger(s: Schema): Arbitrary<unknown> {
    const min = s.minimum as number | undefined;
    const max = s.maximum as number | undefined;
    const values: unknown[] = [1e300, -1e300, 2 ** 53, 2 ** 53 + 2, -1, 1.5, 0.1, Number.MAX_VALUE, -(2 ** 63), 2 ** 64];
    if (min !== undefined) values.push(min - 1);
    if (max !== undefined) values.push(max + 1, max * 2 + 1);
    return fc.constantFrom(
      ...values.filter(
        (v) => typeof v !== 'number' || !(Number.isInteger(v) && (min === undefined || v >= min) && (max === undefined || v <= max)),
      ),
    );
  }

  function invalidArray(s: Schema, name: string, place: Place): Arbitrary<unknown> {
    const items = s.items as Schema;
    const maxItems = (s.maxItems as number | undefined) ?? 10;
    const mutations: Arbitrary<unknown>[] = [
      fc.array(valid(items, name, place), { minLength: maxItems + 1, maxLength: maxItems + 1 }),
      fc.tuple(fc.array(valid(items, name, place), { maxLength: 3 }), invalid(items, name, place), fc.nat()).map(([list, bad, i]) => {
        const copy = [...list];
        copy.splice(i % (copy.length + 1), 0, bad);
        return copy;
      }),
    ];
    if (s.uniqueItems) mutations.push(valid(items, name, place).map((v) => [v, v]));
    // Too few items; not in a query, where an empty array is the parameter left out (valid).
    const minItems = (s.minItems as number | undefined) ?? 0;
    if (minItems > 0 && place !== 'query') {
      mutations.push(fc.array(valid(items, name, place), { minLength: minItems - 1, maxLength: minItems - 1 }));
    }
    return fc.oneof(...mutations);
  }

  const unknownKey = fc.oneof(
    fc.constantFrom('id', 'tenant_id', 'department_id', 'created_at', 'updated_at', 'version', 'deleted_at', 'unknown', 'Name', 'name '),
    { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
    fc.constantFrom('k'.repeat(600), 'ключ', '\u0000', '\ud800', ''),
    fc.string({ minLength: 1, maxLength: 12 }),
  );

  function invalidObject(s: Schema, place: Place): Arbitrary<unknown> {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const required = (s.required ?? []) as string[];
    const base = validObject(s, place);
    const mutations: Arbitrary<unknown>[] = [];
    if (required.length) {
      mutations.push(
        base.chain((o) => fc.constantFrom(...required).map((key) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key)))),
      );
    }
    if (s.additionalProperties === false) {
      mutations.push(
        fc
          .tuple(base, unknownKey, fc.jsonValue({ maxDepth: 1 }))
          .filter(([, key]) => !Object.hasOwn(properties, key))
          .map(([o, key, v]) => withOwn(o, key, v)),
        // More unknown fields than the Problem's `errors` map may list (maxProperties 200).
        base.map((o) => Object.assign({}, o, Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`unknown_${i}`, i])))),
      );
    }
    if (s.minProperties !== undefined) mutations.push(fc.constant({}));
    const keys = Object.keys(properties);
    if (keys.length) {
      mutations.push(
        fc
          .tuple(base, fc.constantFrom(...keys))
          .chain(([o, key]) => invalid(properties[key]!, key, place).map((bad) => withOwn(o, key, bad))),
      );
    }
    return fc.oneof(...mutations);
  }

  /** A value the schema refuses: one mutation, at the top or somewhere inside. */
  function invalid(schema: Schema, name = '', place: Place = 'body'): Arbitrary<unknown> {
    const s = resolve(schema);
    const mutations: Arbitrary<unknown>[] = [];
    if ('const' in s || Array.isArray(s.enum)) {
      const allowed = 'const' in s ? [s.const] : (s.enum as unknown[]);
      const near = allowed.flatMap((v) => (typeof v === 'string' ? [v.toUpperCase(), ` ${v}`, `${v}\u0000`, v.slice(1), `${v}x`] : []));
      mutations.push(fc.constantFrom(...near, 'bogus', '').filter((v) => !allowed.includes(v)));
    }
    const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (branches) {
      // A value every branch refuses: the branches' invalid values that no branch accepts are
      // hard to know without a validator, so use values refused by any schema of the contract.
      mutations.push(fc.constantFrom(null, 12, {}, [], 'x'.repeat(600), '\u0000', '\ud800'));
    }
    const types = typesOf(s);
    const wrong = wrongType(s);
    if (wrong) mutations.push(wrong);
    for (const type of types) {
      if (type === 'string' && !('const' in s) && !Array.isArray(s.enum)) mutations.push(invalidString(s, name, place));
      if (type === 'integer') mutations.push(invalidInteger(s));
      if (type === 'array') mutations.push(invalidArray(s, name, place));
      if (type === 'object') mutations.push(invalidObject(s, place));
    }
    return fc.oneof(...mutations);
  }

  return { resolve, valid, invalid };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
