// HTTP as a hostile client speaks it: node:http sends the path, headers and body bytes exactly
// as given. fetch cannot: it normalises `/deals/../customers`, refuses lone surrogates and
// invalid header values, and always adds its own framing.
import { Agent, request } from 'node:http';

export type RawRequest = {
  method: string;
  /** Sent as is: percent-encode it yourself (see encodePathSegment / encodeQueryValue). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
};

export type RawReply = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  text: string;
  /** The parsed body, or the text when it is not JSON, or undefined when there is none. */
  body: unknown;
};

export type RawClient = { send(req: RawRequest): Promise<RawReply>; close(): void };

export function rawClient(origin: string, maxSockets = 4): RawClient {
  const { hostname, port } = new URL(origin);
  const agent = new Agent({ keepAlive: true, maxSockets });
  function send(req: RawRequest): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const outgoing = request({ host: hostname, port, agent, method: req.method, path: req.path, headers: req.headers }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text === '' ? undefined : text;
          try {
            if (text !== '') body = JSON.parse(text);
          } catch {
            // not JSON: keep the text, so a contract check reports what came back
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType: res.headers['content-type'] ?? '', text, body });
        });
      });
      // A server that answers 413 before reading the whole body may reset the connection
      // while we are still writing; the answer it gave is what counts.
      outgoing.on('error', (error) => {
        if (!answered) reject(error);
      });
      outgoing.end(req.body);
    });
  }
  return { send, close: () => agent.destroy() };
}

/** Percent-encodes UTF-8, and a lone surrogate as the (invalid) 3-byte sequence CESU-8 gives it. */
function percentEncode(value: string, keep: RegExp): string {
  let out = '';
  for (const ch of value) {
    if (keep.test(ch)) {
      out += ch;
      continue;
    }
    const code = ch.codePointAt(0)!;
    const bytes =
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [...Buffer.from(ch, 'utf8')];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

export const encodePathSegment = (value: string) => percentEncode(value, /^[A-Za-z0-9\-._~]$/);
export const encodeQueryValue = (value: string) => percentEncode(value, /^[A-Za-z0-9\-._~:]$/);

export function queryString(params: [string, string][]): string {
  return params.length === 0 ? '' : `?${params.map(([k, v]) => `${encodeQueryValue(k)}=${encodeQueryValue(v)}`).join('&')}`;
}
