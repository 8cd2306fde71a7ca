// parseJsonBody and badStringMessage: what a request body must be before the contract
// validator sees it. The HTTP side (415 for other media types, 413 over 1 MB) is in
// test/http/protocol.test.ts; here is every rule of the parser itself.
import { describe, expect, it } from 'vitest';
import { badStringMessage, parseJsonBody } from '../../../src/http/json-body.ts';
import { ApiProblem } from '../../../src/problems.ts';

const parse = (text: string | Buffer) => parseJsonBody(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

/** The problem parseJsonBody throws for `text`. */
function refusal(text: string | Buffer): ApiProblem {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ApiProblem) return error;
    throw error;
  }
  throw new Error(`accepted: ${String(text)}`);
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('parseJsonBody', () => {
  describe('accepts', () => {
    it.each([
      ['an object', '{"name":"Example Dealname","volume":15000}', { name: 'Example Dealname', volume: 15000 }],
      ['an array, a string, a number, null', '[1,"a",null,false]', [1, 'a', null, false]],
      ['the same key in different objects', '[{"a":1},{"a":2}]', [{ a: 1 }, { a: 2 }]],
      ['a value equal to a key', '{"a":"a","b":"a"}', { a: 'a', b: 'a' }],
      ['quotes, braces and commas inside strings', '{"a":"}{\\",\\"a\\":","b":"[,"}', { a: '}{","a":', b: '[,' }],
      ['whitespace and a byte order of keys', ' { "b" : 1 ,\n "a" : 2 } ', { b: 1, a: 2 }],
      ['non-ASCII text and a surrogate pair', '{"name":"Zoë 🚀"}', { name: 'Zoë 🚀' }],
      ['a key named __proto__ as data', '{"__proto__":{"x":1}}', JSON.parse('{"__proto__":{"x":1}}')],
    ])('%s', (_, text, value) => {
      expect(parse(text)).toEqual(value);
    });

    it('nesting of exactly 32 levels', () => {
      expect(() => parse(nested(32))).not.toThrow();
    });
  });

  describe('400', () => {
    it('invalid UTF-8', () => {
      const problem = refusal(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])); // {"a":"\xff"}
      expect(problem).toMatchObject({ kind: 'malformed-request', status: 400, detail: 'The request body is not valid UTF-8.' });
    });

    it.each(['', '{', '{"a":1,}', "{'a':1}", '{"a":1} x', 'NaN'])('invalid JSON: %j', (text) => {
      expect(refusal(text)).toMatchObject({ kind: 'malformed-request', status: 400, detail: 'The request body is not valid JSON.' });
    });

    it.each([
      ['at the top level', '{"name":"a","volume":1,"name":"b"}', 'name'],
      ['in a nested object', '{"customers":[{"last_name":"Doe","last_name":"Roe"}]}', 'last_name'],
      ['spelled with an escape', '{"name":"a","\\u006eame":"b"}', 'name'],
      ['after a nested object', '{"a":{"b":1},"a":2}', 'a'],
    ])('a key twice in one object, %s', (_, text, key) => {
      expect(refusal(text)).toMatchObject({
        kind: 'malformed-request',
        status: 400,
        detail: `The request body has the key "${key}" twice in one object.`,
      });
    });

    it('names at most 100 characters of a duplicated key', () => {
      const key = 'k'.repeat(5000);
      expect(refusal(`{"${key}":1,"${key}":2}`).detail).toBe(`The request body has the key "${'k'.repeat(100)}" twice in one object.`);
    });

    it('nesting deeper than 32 levels, of arrays or objects', () => {
      const deepObject = `${'{"a":'.repeat(33)}1${'}'.repeat(33)}`;
      for (const text of [nested(33), deepObject, nested(10_000)]) {
        expect(refusal(text)).toMatchObject({
          kind: 'malformed-request',
          status: 400,
          detail: 'The request body is nested more than 32 levels deep.',
        });
      }
    });
  });

  describe('422', () => {
    it('a NUL character or a lone surrogate in any string, each under its field path', () => {
      const problem = refusal('{"name":"a\\u0000b","customers":[{"last_name":"ok"},{"last_name":"\\ud800"}],"note":"fine"}');
      expect(problem).toMatchObject({ kind: 'validation-error', status: 422, detail: '2 fields failed validation.' });
      expect(problem.extra.errors).toEqual({
        name: ['The name field must not contain NUL characters.'],
        'customers.1.last_name': ['The customers.1.last_name field must be well-formed Unicode (it contains a lone surrogate).'],
      });
    });

    it('a body that is itself a bad string is the field "body"', () => {
      expect(refusal('"\\u0000"').extra.errors).toEqual({ body: ['The body field must not contain NUL characters.'] });
    });

    it('a field named like an Object.prototype member is a field like any other', () => {
      expect(refusal('{"constructor":"\\u0000","__proto__":"\\udfff"}').extra.errors).toEqual({
        constructor: ['The constructor field must not contain NUL characters.'],
        // A computed key: `__proto__:` in a literal would set the prototype instead.
        ['__proto__']: ['The __proto__ field must be well-formed Unicode (it contains a lone surrogate).'],
      });
    });
  });
});

describe('badStringMessage', () => {
  it.each(['', 'Example Dealname', 'Zoë 🚀', '\u{10FFFF}', 'percent % and \\ backslash'])('accepts %j', (s) => {
    expect(badStringMessage(s)).toBeUndefined();
  });

  it.each([
    ['a NUL', 'a\u0000b', 'must not contain NUL characters.'],
    ['a lone high surrogate', 'a\ud83d', 'must be well-formed Unicode (it contains a lone surrogate).'],
    ['a lone low surrogate', '\ude80a', 'must be well-formed Unicode (it contains a lone surrogate).'],
    ['NUL and a lone surrogate: NUL is named first', '\u0000\ud800', 'must not contain NUL characters.'],
  ])('refuses %s', (_, s, message) => {
    expect(badStringMessage(s)).toBe(message);
  });
});
