SET plan_cache_mode = force_generic_plan;
PREPARE feed (uuid, uuid, xid8, uuid) AS
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT txid::text AS txid, id, type, payload FROM (
  (SELECT e.txid, e.id, e.type, e.payload FROM events e
   WHERE e.tenant_id = $1 AND e.department_id = $2
     AND (e.txid, e.id) > ($3, $4) AND e.txid < (SELECT xmin FROM horizon)
   ORDER BY e.txid, e.id LIMIT 101)
  UNION ALL
  (SELECT e.txid, e.id, e.type, e.payload FROM events e
   WHERE e.tenant_id = $1 AND e.department_id IS NULL
     AND (e.txid, e.id) > ($3, $4) AND e.txid < (SELECT xmin FROM horizon)
   ORDER BY e.txid, e.id LIMIT 101)
) page
ORDER BY page.txid, page.id LIMIT 101;
\echo '--- from the start (cursor 0)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) EXECUTE feed('00000000-0000-7000-8000-000000000001','00000000-0000-7000-8000-0000000000d1','0','00000000-0000-0000-0000-000000000000');
\echo '--- cursor 900,000 deep'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) EXECUTE feed('00000000-0000-7000-8000-000000000001','00000000-0000-7000-8000-0000000000d1','901000','00000000-0000-0000-0000-000000000000');
\echo '--- caught up'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) EXECUTE feed('00000000-0000-7000-8000-000000000001','00000000-0000-7000-8000-0000000000d1','1001000','ffffffff-ffff-ffff-ffff-ffffffffffff');
