// The bare baseline of `npm run bench`: what the three benchmarked operations cost with no
// framework at all. node:http + pg, the same pool size as the server, the same database and
// schema, ONE round trip per request with PostgreSQL building the JSON, and the API key
// checked by a cached SHA-256 lookup as the real server does. It does the work a correct
// server cannot skip (authentication, department grant, JSON parsing, the writes, the
// response document) and nothing else: no contract validation, no logging, no error model.
// Its responses have the same fields and formats as the real server's, and createDeal appends
// the same event rows (issue #7: customer.created per new customer, then deal.created, built by
// api_event_json in the same statement); bench/run.ts checks both before it measures anything.
//
// Env: DATABASE_URL, PORT, HOST (127.0.0.1), DB_POOL_MAX (10).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { basePath } from '../src/contract.ts';
import { UUID_PATTERN, uuidv7 } from '../src/ids.ts';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX || 10),
  application_name: 'deals-bench-baseline',
});
pool.on('error', () => undefined);

const base = basePath;

// ---- SQL: written for the baseline, not taken from the server's data layer -----------------

const customerColumns = [
  'company',
  'website',
  'title',
  'first_name',
  'last_name',
  'phone_1',
  'phone_2',
  'phone_3',
  'phone_1_label',
  'phone_2_label',
  'phone_3_label',
  'email',
  'postcode',
  'address',
  'city',
  'country',
  'state',
  'lead_origin',
  'birthday',
  'note',
];
const ts = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// row_to_json over a subselect: compact JSON in the contract's field order (json_build_object
// would print `"key" : value` with spaces, a larger body for the same document).
const fields = (columns: string[]) => `(SELECT row_to_json(r) FROM (SELECT ${columns.join(', ')}) r)`;

/** A customer row `c` as the API shows it. */
const customerJson = (c: string) =>
  fields([
    `${c}.id`,
    ...customerColumns.filter((col) => col !== 'birthday' && col !== 'note').map((col) => `${c}.${col}`),
    `to_char(${c}.birthday, 'YYYY-MM-DD') AS birthday`,
    `${c}.note`,
    `${c}.tenant_id`,
    `${ts(`${c}.created_at`)} AS created_at`,
    `${ts(`${c}.updated_at`)} AS updated_at`,
  ]);

/** A deal row `d` with `employee_name` and `customers` (json) as the API shows it. */
const dealJson = (d: string, employeeName: string, customers: string) =>
  fields([
    `${d}.id`,
    `${d}.name`,
    `${d}.volume`,
    `${d}.employee_id`,
    `${employeeName} AS employee_name`,
    `${d}.step_id`,
    `${d}.department_id`,
    `${d}.note`,
    `${ts(`${d}.created_at`)} AS created_at`,
    `${ts(`${d}.updated_at`)} AS updated_at`,
    `coalesce(${customers}, '[]'::json) AS customers`,
  ]);

/** Deals `d` (already filtered and limited) with their employee and customers. */
const dealsWithRelations = (deals: string) => `
  SELECT ${dealJson('d', "e.first_name || ' ' || e.last_name", 'cs.customers')}::text AS json,
         ${ts('d.created_at')} AS sort_key, d.id::text AS id
  FROM (${deals}) d
  LEFT JOIN employees e ON e.tenant_id = d.tenant_id AND e.id = d.employee_id
  LEFT JOIN LATERAL (
    SELECT json_agg(${customerJson('c')} ORDER BY dc.position) AS customers
    FROM deal_customers dc JOIN customers c ON c.tenant_id = dc.tenant_id AND c.id = dc.customer_id
    WHERE dc.tenant_id = d.tenant_id AND dc.deal_id = d.id
  ) cs ON true
  ORDER BY d.created_at DESC, d.id DESC`;

const listSql = dealsWithRelations(`
  SELECT * FROM deals WHERE tenant_id = $1 AND department_id = $2
  ORDER BY created_at DESC, id DESC LIMIT $3`);

const getSql = dealsWithRelations(`SELECT * FROM deals WHERE tenant_id = $1 AND department_id = $2 AND id = $3`);

// $1 tenant, $2 department, $3 deal id, $4 step change id, $5 name, $6 volume, $7 note,
// $8 customers [{id, position, ...attributes}], $9 idempotency key or NULL, $10 request hash,
// $11 event ids (sorted UUIDv7s: one per new customer, then the deal's), $12 request id,
// $13 API key id, $14 the deal event's position in $11.
const createSql = `
  WITH lock AS (
    SELECT $9::text IS NULL OR pg_try_advisory_xact_lock(hashtextextended($1::uuid::text || ':' || $9::text, 0)) AS got
  ),
  prior AS (
    SELECT response_body FROM idempotency_records
    WHERE $9::text IS NOT NULL AND tenant_id = $1::uuid AND key = $9::text AND expires_at > now()
  ),
  go AS (SELECT (SELECT got FROM lock) AND NOT EXISTS (SELECT 1 FROM prior) AS ok),
  step AS (
    SELECT id FROM steps WHERE tenant_id = $1::uuid AND department_id = $2::uuid ORDER BY position LIMIT 1
  ),
  input AS (
    SELECT * FROM jsonb_to_recordset($8::jsonb) AS i (id uuid, position int,
      ${customerColumns.map((c) => `${c} ${c === 'birthday' ? 'date' : 'text'}`).join(', ')})
  ),
  new_customers AS (
    INSERT INTO customers AS c (tenant_id, id, ${customerColumns.join(', ')}, created_at, updated_at)
    SELECT $1::uuid, i.id, ${customerColumns.map((c) => `i.${c}`).join(', ')}, now(), now()
    FROM input i WHERE (SELECT ok FROM go)
    RETURNING c.*
  ),
  new_deal AS (
    INSERT INTO deals AS d (tenant_id, id, department_id, step_id, name, volume, note, created_at, updated_at)
    SELECT $1::uuid, $3::uuid, $2::uuid, step.id, $5::text, $6::bigint, $7::text, now(), now() FROM step WHERE (SELECT ok FROM go)
    RETURNING d.*
  ),
  links AS (
    INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
    SELECT $1::uuid, d.id, i.id, i.position FROM new_deal d, input i
  ),
  first_step AS (
    INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
    SELECT $1::uuid, $4::uuid, d.id, NULL, d.step_id, d.created_at FROM new_deal d
  ),
  response AS (
    SELECT ${dealJson(
      'd',
      'NULL::text',
      `(SELECT json_agg(${customerJson('c')} ORDER BY i.position)
      FROM new_customers c JOIN input i ON i.id = c.id)`,
    )}::text AS body
    FROM new_deal d
  ),
  customer_events AS (
    INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
    SELECT c.tenant_id, ($11::uuid[])[i.position], NULL::uuid, 'customer.created', c.id, c.version, $12::text, $13::uuid, c.created_at,
           api_event_json(($11::uuid[])[i.position], 'customer.created', c.created_at,
             row_to_json(ROW(api_customer_json(ROW(c.*)::customers), c.version)::api_event_change), $12::text, $13::uuid)
    FROM new_customers c JOIN input i ON i.id = c.id
  ),
  deal_event AS (
    INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
    SELECT d.tenant_id, ($11::uuid[])[$14::int], d.department_id, 'deal.created', d.id, d.version, $12::text, $13::uuid, d.created_at,
           api_event_json(($11::uuid[])[$14::int], 'deal.created', d.created_at,
             row_to_json(ROW(r.body::json, d.version)::api_event_change), $12::text, $13::uuid)
    FROM new_deal d, response r
  ),
  store AS (
    INSERT INTO idempotency_records (tenant_id, key, request_hash, status_code, response_body, created_at, expires_at)
    SELECT $1::uuid, $9::text, $10::text, 201, body, now(), now() + interval '24 hours' FROM response WHERE $9::text IS NOT NULL
    ON CONFLICT DO NOTHING
  )
  SELECT (SELECT body FROM response) AS body, (SELECT response_body FROM prior) AS prior,
         (SELECT got FROM lock) AS got`;

// ---- Authentication: SHA-256 of the key, looked up once per 5 s per key ----------------------

type Grant = { tenantId: string; apiKeyId: string; departmentIds: string[] } | undefined;
const grants = new Map<string, { expires: number; grant: Promise<Grant> }>();

function grantFor(secret: string): Promise<Grant> {
  const hash = createHash('sha256').update(secret, 'utf8').digest();
  const cacheKey = hash.toString('base64');
  const hit = grants.get(cacheKey);
  if (hit && hit.expires > Date.now()) return hit.grant;
  const grant = pool
    .query<{ tenant_id: string; id: string; department_ids: string[] }>(
      `SELECT k.tenant_id::text, k.id::text, ARRAY(SELECT g.department_id::text FROM api_key_departments g
                                        WHERE g.tenant_id = k.tenant_id AND g.api_key_id = k.id) AS department_ids
       FROM api_keys k WHERE k.secret_hash = $1 AND k.revoked_at IS NULL`,
      [hash],
    )
    .then(({ rows }) => rows[0] && { tenantId: rows[0].tenant_id, apiKeyId: rows[0].id, departmentIds: rows[0].department_ids });
  grants.set(cacheKey, { expires: Date.now() + 5000, grant });
  grant.catch(() => grants.delete(cacheKey));
  return grant;
}

// ---- HTTP -------------------------------------------------------------------------------------

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const problem = (status: number, title: string) => JSON.stringify({ status, title });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function page(rows: { json: string; sort_key: string; id: string }[], limit: number): string {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const next = rows.length > limit && last ? Buffer.from(JSON.stringify({ k: last.sort_key, i: last.id })).toString('base64url') : null;
  return `{"data":[${data.map((r) => r.json).join(',')}],"next_cursor":${JSON.stringify(next)}}`;
}

type Customer = Record<string, unknown>;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  // As the server: every response names its request, and events record it as their origin.
  const requestId = uuidv7();
  res.setHeader('X-Request-Id', requestId);
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return send(res, 200, '{"status":"ok"}');
  if (!url.pathname.startsWith(`${base}/deals`)) return send(res, 404, problem(404, 'Not Found'));

  const secret = req.headers['x-api-key'];
  const grant = typeof secret === 'string' ? await grantFor(secret) : undefined;
  if (!grant) return send(res, 401, problem(401, 'Unauthenticated'));
  const departmentId = String(req.headers['x-department-id'] ?? '').toLowerCase();
  if (!grant.departmentIds.includes(departmentId)) return send(res, 403, problem(403, 'Forbidden'));
  const t = grant.tenantId;

  const rest = url.pathname.slice(`${base}/deals`.length);
  if (req.method === 'POST' && rest === '') {
    const text = await readBody(req);
    let body: { name?: unknown; volume?: unknown; note?: unknown; customers?: Customer[] };
    try {
      body = JSON.parse(text);
    } catch {
      return send(res, 400, problem(400, 'Bad Request'));
    }
    if (typeof body.name !== 'string') return send(res, 422, problem(422, 'Unprocessable Content'));
    const customers = (body.customers ?? []).map((c, i) => ({ ...c, id: uuidv7(), position: i + 1 }));
    const key = req.headers['idempotency-key'];
    const idemKey = typeof key === 'string' ? key : null;
    const requestHash = idemKey ? createHash('sha256').update(text).digest('hex') : null;
    const dealId = uuidv7();
    const eventIds = Array.from({ length: customers.length + 1 }, () => uuidv7()).sort();
    const { rows } = await pool.query<{ body: string | null; prior: string | null; got: boolean }>({
      name: 'create_deal',
      text: createSql,
      values: [
        t,
        departmentId,
        dealId,
        uuidv7(),
        body.name,
        body.volume ?? 0,
        body.note ?? null,
        JSON.stringify(customers),
        idemKey,
        requestHash,
        eventIds,
        requestId,
        grant.apiKeyId,
        customers.length + 1,
      ],
    });
    const row = rows[0]!;
    if (row.prior !== null) return send(res, 201, row.prior, { 'Idempotent-Replayed': 'true' });
    if (!row.got) return send(res, 409, problem(409, 'Conflict'));
    if (row.body === null) return send(res, 422, problem(422, 'Unprocessable Content'));
    return send(res, 201, row.body, { Location: `${base}/deals/${dealId}`, ETag: '"1"' });
  }
  if (req.method === 'GET' && rest === '') {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 25) || 25));
    const { rows } = await pool.query({ name: 'list_deals', text: listSql, values: [t, departmentId, limit + 1] });
    return send(res, 200, page(rows, limit));
  }
  const id = rest.slice(1);
  if (req.method === 'GET' && UUID_PATTERN.test(id)) {
    const { rows } = await pool.query<{ json: string }>({ name: 'get_deal', text: getSql, values: [t, departmentId, id] });
    return rows[0] ? send(res, 200, rows[0].json) : send(res, 404, problem(404, 'Not Found'));
  }
  return send(res, 404, problem(404, 'Not Found'));
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) send(res, 500, problem(500, 'Internal Server Error'));
    else res.destroy();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 3100), process.env.HOST || '127.0.0.1');

function shutdown() {
  server.close();
  server.closeAllConnections();
  void pool.end().finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
