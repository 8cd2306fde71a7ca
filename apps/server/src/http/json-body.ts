// Reads and checks request bodies before the contract validator sees them. JSON.parse alone
// accepts things PostgreSQL or a deep validator cannot take, so each is turned into a clear
// 4xx here: non-JSON media types (415), oversize bodies (413), invalid UTF-8 or JSON,
// duplicate keys and absurd nesting (400), NUL characters and lone surrogates (422).
import express, { type RequestHandler } from 'express';
import { ApiProblem, addFieldError, type FieldErrors, fieldErrors, validationProblem } from '../problems.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

// inflate: false: a compressed body is refused (415) rather than decompressed, so the 1 MB
// limit bounds what the server holds, not what a gzip bomb expands to.
const readRaw = express.raw({ type: () => true, limit: BODY_LIMIT_BYTES, inflate: false });

export const jsonBody: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST' && req.method !== 'PATCH' && req.method !== 'PUT') return next();
  const type = req.get('content-type');
  // No body at all (`curl -X POST`, the client's POST of an operation without a request body,
  // such as testWebhookEndpoint): nothing to read. An operation that requires a body still
  // gets 415 from the contract validator.
  if (type === undefined && !req.get('transfer-encoding') && (req.get('content-length') ?? '0') === '0') return next();
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
    return next(new ApiProblem('unsupported-media-type', 'Send the request body as application/json.'));
  }
  readRaw(req, res, (error?: unknown) => {
    if (error) return next(error);
    try {
      req.body = parseJsonBody(req.body as Buffer);
      next();
    } catch (problem) {
      next(problem);
    }
  });
};

export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ApiProblem('malformed-request', 'The request body is not valid UTF-8.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiProblem('malformed-request', 'The request body is not valid JSON.');
  }
  const structural = structuralProblem(text);
  if (structural) throw new ApiProblem('malformed-request', structural);
  const errors = fieldErrors();
  collectBadStrings(value, [], errors);
  if (Object.keys(errors).length > 0) throw validationProblem(errors);
  return value;
}

/** Duplicate keys (which JSON.parse silently resolves to the last one) and nesting depth. */
function structuralProblem(text: string): string | undefined {
  type Frame = { keys: Set<string> | undefined; expectKey: boolean };
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return `The request body has the key "${key.slice(0, 100)}" twice in one object.`;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : undefined, expectKey: c === '{' });
      if (stack.length > MAX_DEPTH) return `The request body is nested more than ${MAX_DEPTH} levels deep.`;
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
}

/** The same string checks for query parameters (`q=a%00b`), keyed by parameter name. */
export const queryStrings: RequestHandler = (req, _res, next) => {
  // Node's query parser silently turns invalid percent-encoded UTF-8 into U+FFFD; a search
  // for something other than what the client sent is refused instead.
  const raw = req.originalUrl.split('?')[1] ?? '';
  for (const part of raw.split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return next(new ApiProblem('malformed-request', 'The query string is not valid percent-encoded UTF-8.'));
    }
  }
  const errors = fieldErrors();
  for (const [name, value] of Object.entries(req.query)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      const message = typeof v === 'string' ? badStringMessage(v) : undefined;
      if (message) addFieldError(errors, name, `The ${name} parameter ${message}`);
    }
  }
  next(Object.keys(errors).length > 0 ? validationProblem(errors) : undefined);
};

/** PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8. */
export function badStringMessage(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL characters.';
  if (!s.isWellFormed()) return 'must be well-formed Unicode (it contains a lone surrogate).';
  return undefined;
}

function collectBadStrings(value: unknown, path: (string | number)[], errors: FieldErrors): void {
  if (typeof value === 'string') {
    const message = badStringMessage(value);
    if (message) {
      const field = path.join('.') || 'body';
      addFieldError(errors, field, `The ${field} field ${message}`);
    }
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectBadStrings(v, [...path, i], errors);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectBadStrings(v, [...path, k], errors);
  }
}
