// Variant X: the PATCH blocks AFTER its xid is assigned, so it commits later with an OLDER txid.
// deal: PATCH relinks customer C; the holder has C FOR UPDATE; the FK check (end of statement)
//       takes FOR KEY SHARE on C and waits.
// customer: the holder has inserted (uncommitted) the event row with the id the server will use
//       (ids are injectable); the PATCH's event insert waits on that key, the holder rolls back.
import { connect, createDeal, updateDeal, updateCustomer, follow, START, T, uuidv7 } from './statements.mjs';

async function waitUntilBlocked(observer, marker) {
  for (let i = 0; i < 300; i++) {
    const r = await observer.query(`SELECT backend_xid::text AS xid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%${marker}%`]);
    if (r.rows.length) return r.rows[0].xid;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error('PATCH never blocked');
}
async function drain(c, cursor, opts) {
  const seen = [];
  for (;;) { const page = await follow(c, cursor, opts); seen.push(...page.events); if (!page.events.length) return { seen, cursor }; cursor = page.cursor; }
}
async function scenario(kind) {
  const [api, api2, holder, observer, follower] = await Promise.all([connect(), connect(), connect(), connect(), connect()]);
  await api.query('DELETE FROM events');
  const a = await createDeal(api);
  const other = await createDeal(api, undefined, 'Owner of C', [{ last_name: 'Roe' }]);
  const c = JSON.parse(other.body).customers[0].id;
  const good0 = await drain(follower, START); const naive0 = await drain(follower, START, { naive: true });
  await holder.query('BEGIN');
  const pinned = uuidv7();
  let patch;
  if (kind === 'deal') {
    await holder.query(`SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [T, c]);
    patch = updateDeal(api2, a.id, { link: [c] });
  } else {
    await holder.query(`INSERT INTO events (tenant_id, id, type, resource_id, resource_version, occurred_at, payload) VALUES ($1, $2, 'x', $2, 0, now(), '')`, [T, pinned]);
    patch = updateCustomer(api2, c, '+49 170 2', pinned);
  }
  const xidWhileWaiting = await waitUntilBlocked(observer, kind === 'deal' ? 'UPDATE deals d SET' : 'UPDATE customers c SET');
  const b = await createDeal(api, undefined, 'Created while the PATCH waits');
  const bTxid = (await api.query(`SELECT txid::text FROM events WHERE resource_id = $1`, [b.id])).rows[0].txid;
  const g1 = await drain(follower, good0.cursor); const n1 = await drain(follower, naive0.cursor, { naive: true });
  await new Promise((res) => setTimeout(res, 2000));
  await holder.query(kind === 'deal' ? 'COMMIT' : 'ROLLBACK');
  const patched = await patch;
  const g2 = await drain(follower, g1.cursor); const n2 = await drain(follower, n1.cursor, { naive: true });
  const patchType = kind === 'deal' ? 'deal.updated' : 'customer.updated';
  const count = (rows) => rows.filter((e) => e.type === patchType).length;
  console.log(JSON.stringify({ kind, xidWhileWaiting, patchTxid: patched.txid, laterCreateTxid: bTxid,
    xmin: { whileHeld: g1.seen.length, after: g2.seen.map((e) => e.txid + ' ' + e.type), patchSeen: count([...g1.seen, ...g2.seen]) },
    naive: { whileHeld: n1.seen.map((e) => e.txid + ' ' + e.type), after: n2.seen.map((e) => e.txid + ' ' + e.type), patchSeen: count([...n1.seen, ...n2.seen]) } }));
  await Promise.all([api, api2, holder, observer, follower].map((x) => x.end()));
}
await scenario('deal');
await scenario('customer');
