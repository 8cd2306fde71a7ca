// Lab versions of the write statements with their event CTEs (simplified from data/deals-write.ts:
// no idempotency, no employee/linked customers) and of the feed query.
import { randomUUID } from 'node:crypto';
import pg from '/work/main/node_modules/pg/lib/index.js';

export const T = '00000000-0000-7000-8000-000000000001';
export const D1 = '00000000-0000-7000-8000-0000000000d1';
export const D2 = '00000000-0000-7000-8000-0000000000d2';
export const STEP1 = '00000000-0000-7000-8000-0000000000a1';
export const STEP2 = '00000000-0000-7000-8000-0000000000a2';

let last = 0;
export function uuidv7() {
  const b = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  let ms = Date.now(); if (ms <= last) ms = last; last = ms;
  b.writeUIntBE(ms, 0, 6); b[6] = 0x70 | (b[6] & 0x0f); b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
/** n event ids in ascending order: the order of the events within their transaction. */
export const eventIds = (n) => Array.from({ length: n }, uuidv7).sort();

export const connect = async () => { const c = new pg.Client({ host: '/tmp/issue7/lab', port: 55418, user: 'postgres', database: 'deals' }); await c.connect(); return c; };

export const CREATE_DEAL = `
WITH input_customers AS (
  SELECT * FROM jsonb_to_recordset($4::jsonb) AS c (id uuid, position int, first_name text, last_name text)
),
step AS (SELECT id FROM steps WHERE tenant_id = $1 AND department_id = $2 ORDER BY position LIMIT 1),
new_customers AS (
  INSERT INTO customers AS c (tenant_id, id, first_name, last_name, created_at, updated_at)
  SELECT $1, i.id, i.first_name, i.last_name, now(), now() FROM input_customers i
  RETURNING c.*
),
new_deal AS (
  INSERT INTO deals AS d (tenant_id, id, department_id, step_id, name, volume, created_at, updated_at)
  SELECT $1, $3, $2, (SELECT id FROM step), $5, 15000, now(), now()
  RETURNING d.*
),
links AS (
  INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
  SELECT $1, nd.id, i.id, i.position FROM new_deal nd, input_customers i
),
first_step AS (
  INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
  SELECT $1, $6, nd.id, NULL, nd.step_id, nd.created_at FROM new_deal nd
),
response AS (
  SELECT api_deal_json(ROW(nd.*)::deals, NULL,
    (SELECT coalesce(json_agg(api_customer_json(ROW(c.*)::customers) ORDER BY i.position), '[]'::json)
     FROM new_customers c JOIN input_customers i ON i.id = c.id))::text AS body
  FROM new_deal nd
),
customer_events AS (
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT c.tenant_id, ($7::uuid[])[i.position], NULL, 'customer.created', c.id, c.version, $8, $9, c.created_at,
         api_event_json(($7::uuid[])[i.position], 'customer.created', c.created_at,
                        row_to_json(ROW(api_customer_json(ROW(c.*)::customers), c.version)::api_event_change), $8, $9)
  FROM new_customers c JOIN input_customers i ON i.id = c.id
),
deal_event AS (
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT nd.tenant_id, ($7::uuid[])[cardinality($7::uuid[])], nd.department_id, 'deal.created', nd.id, nd.version, $8, $9, nd.created_at,
         api_event_json(($7::uuid[])[cardinality($7::uuid[])], 'deal.created', nd.created_at,
                        row_to_json(ROW(r.body::json, nd.version)::api_event_change), $8, $9)
  FROM new_deal nd, response r
)
SELECT body FROM response`;

export async function createDeal(c, dept = D1, name = 'Example Dealname', customers = [{ first_name: 'John', last_name: 'Doe' }, { first_name: 'Jane', last_name: 'Doe' }]) {
  const dealId = uuidv7();
  const input = customers.map((x, i) => ({ ...x, id: uuidv7(), position: i + 1 }));
  const r = await c.query({ name: 'createDeal', text: CREATE_DEAL, values: [T, dept, dealId, JSON.stringify(input), name, uuidv7(), eventIds(input.length + 1), 'req-' + dealId.slice(-6), '00000000-0000-7000-8000-00000000aaaa'] });
  return { id: dealId, body: r.rows[0]?.body };
}

export const UPDATE_DEAL = `
WITH current AS (
  SELECT * FROM deals WHERE tenant_id = $1 AND department_id = $2 AND id = $3 FOR UPDATE
),
updated AS (
  UPDATE deals d SET version = d.version + 1, updated_at = now(),
    volume = coalesce($4::bigint, d.volume), step_id = coalesce($5::uuid, d.step_id)
  FROM current c WHERE d.tenant_id = c.tenant_id AND d.id = c.id
  RETURNING d.*
),
moved AS (
  INSERT INTO deal_step_changes (tenant_id, id, deal_id, from_step_id, to_step_id, changed_at)
  SELECT u.tenant_id, $6, u.id, c.step_id, u.step_id, u.updated_at FROM updated u JOIN current c ON c.id = u.id
  WHERE u.step_id <> c.step_id
),
relinked AS (
  INSERT INTO deal_customers (tenant_id, deal_id, customer_id, position)
  SELECT u.tenant_id, u.id, l, 99 FROM updated u, unnest($10::uuid[]) AS l
  ON CONFLICT (tenant_id, deal_id, customer_id) DO UPDATE SET position = excluded.position
),
change AS (
  SELECT u, c,
    api_deal_json(ROW(u.*)::deals, (SELECT e.first_name || ' ' || e.last_name FROM employees e WHERE e.tenant_id = u.tenant_id AND e.id = u.employee_id), cj.customers) AS new_json,
    api_deal_json(ROW(c.*)::deals, (SELECT e.first_name || ' ' || e.last_name FROM employees e WHERE e.tenant_id = c.tenant_id AND e.id = c.employee_id), cj.customers) AS old_json
  FROM updated u JOIN current c ON c.id = u.id,
  LATERAL (SELECT coalesce(json_agg(api_customer_json(cu) ORDER BY dc.position), '[]'::json) AS customers
           FROM deal_customers dc JOIN customers cu ON cu.tenant_id = dc.tenant_id AND cu.id = dc.customer_id
           WHERE dc.tenant_id = u.tenant_id AND dc.deal_id = u.id) cj
),
event_data AS (
  SELECT (x.u).tenant_id, (x.u).id, (x.u).department_id, (x.u).version, (x.u).updated_at, (x.u).step_id <> (x.c).step_id AS moved,
         row_to_json(ROW(x.new_json, api_previous_attributes(x.old_json, x.new_json), (x.u).version)::api_event_update) AS data
  FROM change x
),
deal_events AS (
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT e.tenant_id, ($7::uuid[])[t.n], e.department_id, t.type, e.id, e.version, $8, $9, e.updated_at,
         api_event_json(($7::uuid[])[t.n], t.type, e.updated_at, e.data, $8, $9)
  FROM event_data e
  CROSS JOIN LATERAL (VALUES (1, 'deal.updated'), (2, 'deal.step_changed')) AS t (n, type)
  WHERE t.n = 1 OR e.moved
)
SELECT (SELECT new_json::text FROM change) AS body, pg_current_xact_id()::text AS txid`;

export async function updateDeal(c, id, { volume = null, step = null, link = [] } = {}, dept = D1) {
  const r = await c.query({ name: 'updateDeal', text: UPDATE_DEAL, values: [T, dept, id, volume, step, uuidv7(), eventIds(2), 'req-upd', '00000000-0000-7000-8000-00000000aaaa', link] });
  return r.rows[0];
}

export const UPDATE_CUSTOMER = `
WITH current AS (
  SELECT * FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE
),
updated AS (
  UPDATE customers c SET version = c.version + 1, updated_at = now(), phone_1 = $3
  FROM current cur WHERE c.tenant_id = cur.tenant_id AND c.id = cur.id
  RETURNING c.*
),
change AS (
  SELECT u.tenant_id, u.id, u.version, u.updated_at,
         api_customer_json(ROW(u.*)::customers) AS new_json, api_customer_json(ROW(cur.*)::customers) AS old_json
  FROM updated u JOIN current cur ON cur.id = u.id
),
customer_event AS (
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT x.tenant_id, $4, NULL, 'customer.updated', x.id, x.version, $5, $6, x.updated_at,
         api_event_json($4, 'customer.updated', x.updated_at,
           row_to_json(ROW(x.new_json, api_previous_attributes(x.old_json, x.new_json), x.version)::api_event_update), $5, $6)
  FROM change x
)
SELECT (SELECT new_json::text FROM change) AS body, pg_current_xact_id()::text AS txid`;

export async function updateCustomer(c, id, phone, eventId = uuidv7()) {
  const r = await c.query({ name: 'updateCustomer', text: UPDATE_CUSTOMER, values: [T, id, phone, eventId, 'req-cu', '00000000-0000-7000-8000-00000000aaaa'] });
  return r.rows[0];
}

export const DELETE_DEAL = `
WITH current AS (
  SELECT tenant_id, id, department_id, version FROM deals WHERE tenant_id = $1 AND department_id = $2 AND id = $3 FOR UPDATE
),
deleted AS (
  DELETE FROM deals x USING current c WHERE x.tenant_id = c.tenant_id AND x.id = c.id
  RETURNING x.tenant_id, x.id, x.department_id, c.version
),
tombstone AS (
  INSERT INTO deal_tombstones (tenant_id, id, department_id, deleted_at)
  SELECT tenant_id, id, department_id, now() FROM deleted
  RETURNING *
),
deleted_event AS (
  INSERT INTO events (tenant_id, id, department_id, type, resource_id, resource_version, request_id, api_key_id, occurred_at, payload)
  SELECT t.tenant_id, $4, t.department_id, 'deal.deleted', t.id, d.version + 1, $5, $6, t.deleted_at,
         api_event_json($4, 'deal.deleted', t.deleted_at,
           row_to_json(ROW((SELECT row_to_json(r) FROM (SELECT t.id, api_timestamp(t.deleted_at) AS deleted_at) r), d.version + 1)::api_event_change), $5, $6)
  FROM tombstone t JOIN deleted d ON d.id = t.id
)
SELECT EXISTS (SELECT 1 FROM current) AS found`;

export async function deleteDeal(c, id) {
  const r = await c.query({ name: 'deleteDeal', text: DELETE_DEAL, values: [T, D1, id, uuidv7(), 'req-del', '00000000-0000-7000-8000-00000000aaaa'] });
  return r.rows[0];
}

// The feed: this department's events and the tenant-wide ones, after the cursor, below the
// snapshot's xmin, in (txid, id) order. $3/$4: the cursor ('0', nil uuid for the start).
export const FEED = `
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT page.txid::text AS txid, page.id, page.type, page.payload FROM (
  (SELECT e.txid, e.id, e.type, e.payload FROM events e
   WHERE e.tenant_id = $1 AND e.department_id = $2
     AND (e.txid, e.id) > ($3::xid8, $4::uuid) AND e.txid < (SELECT xmin FROM horizon)
   ORDER BY e.txid, e.id LIMIT $5)
  UNION ALL
  (SELECT e.txid, e.id, e.type, e.payload FROM events e
   WHERE e.tenant_id = $1 AND e.department_id IS NULL
     AND (e.txid, e.id) > ($3::xid8, $4::uuid) AND e.txid < (SELECT xmin FROM horizon)
   ORDER BY e.txid, e.id LIMIT $5)
) page
ORDER BY page.txid, page.id LIMIT $5   -- the xid8, not its text`;

// What a feed without the xmin rule would serve: every committed event after the cursor.
export const NAIVE_FEED = FEED.replaceAll('AND e.txid < (SELECT xmin FROM horizon)', '');

export async function follow(c, cursor, { naive = false, dept = D1, limit = 100 } = {}) {
  const r = await c.query({ text: naive ? NAIVE_FEED : FEED, values: [T, dept, cursor.txid, cursor.id, limit] });
  const last = r.rows.at(-1);
  return { events: r.rows, cursor: last ? { txid: last.txid, id: last.id } : cursor };
}
export const START = { txid: '0', id: '00000000-0000-0000-0000-000000000000' };
