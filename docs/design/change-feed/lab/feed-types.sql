SET plan_cache_mode = force_generic_plan;
-- types filter: a bounded walk of the scope (1000 rows, a constant in the text), then the filter.
PREPARE feed_types (uuid, uuid, xid8, uuid, text[]) AS
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
walk AS MATERIALIZED (
  SELECT * FROM (
    (SELECT e.txid, e.id, e.type FROM events e
     WHERE e.tenant_id = $1 AND e.department_id = $2 AND (e.txid, e.id) > ($3, $4) AND e.txid < (SELECT xmin FROM horizon)
     ORDER BY e.txid, e.id LIMIT 1000)
    UNION ALL
    (SELECT e.txid, e.id, e.type FROM events e
     WHERE e.tenant_id = $1 AND e.department_id IS NULL AND (e.txid, e.id) > ($3, $4) AND e.txid < (SELECT xmin FROM horizon)
     ORDER BY e.txid, e.id LIMIT 1000)
  ) w ORDER BY w.txid, w.id LIMIT 1000
),
page AS (SELECT w.txid, w.id FROM walk w WHERE w.type = ANY ($5) ORDER BY w.txid, w.id LIMIT 101),
walk_end AS (SELECT count(*) AS walked, (array_agg(w.txid::text ORDER BY w.txid DESC, w.id DESC))[1] AS txid, (array_agg(w.id ORDER BY w.txid DESC, w.id DESC))[1] AS id FROM walk w)
SELECT p.txid::text, p.id, e.payload, we.walked, we.txid AS walk_txid, we.id AS walk_id
FROM walk_end we LEFT JOIN (page p JOIN events e ON e.tenant_id = $1 AND e.id = p.id) ON true
ORDER BY p.txid, p.id;

EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) EXECUTE feed_types('00000000-0000-7000-8000-000000000001','00000000-0000-7000-8000-0000000000d1','0','00000000-0000-0000-0000-000000000000', ARRAY['customer.created']);
PREPARE by_resource (uuid, uuid, uuid, xid8, uuid) AS
SELECT e.txid::text, e.id, e.payload FROM events e
WHERE e.tenant_id = $1 AND e.resource_id = $3 AND (e.department_id = $2 OR e.department_id IS NULL)
  AND (e.txid, e.id) > ($4, $5) AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY e.txid, e.id LIMIT 101;

EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) EXECUTE by_resource('00000000-0000-7000-8000-000000000001','00000000-0000-7000-8000-0000000000d1', (SELECT resource_id FROM events LIMIT 1), '0','00000000-0000-0000-0000-000000000000');
