// Plain fetch against the real server, as a partner's code would call it.
export type CallOptions = {
  body?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  apiKey?: string | null;
  departmentId?: string | null;
};

export type Reply = { status: number; headers: Headers; json: any; text: string };

export function client(baseUrl: string, defaults: { apiKey: string; departmentId: string }) {
  return async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    const apiKey = options.apiKey === undefined ? defaults.apiKey : options.apiKey;
    const departmentId = options.departmentId === undefined ? defaults.departmentId : options.departmentId;
    if (apiKey !== null) headers['X-Api-Key'] = apiKey;
    if (departmentId !== null) headers['X-Department-Id'] = departmentId;
    let body: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    Object.assign(headers, options.headers);
    const res = await fetch(baseUrl + path, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}

export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function expectProblem(reply: Reply, status: number) {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${reply.status}: ${reply.text}`);
  const type = reply.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${type}`);
  if (reply.json?.status !== status) throw new Error(`problem.status ${reply.json?.status} != ${status}`);
  return reply.json as {
    type: string;
    title: string;
    detail: string;
    message: string;
    instance: string;
    errors?: Record<string, string[]>;
  };
}
