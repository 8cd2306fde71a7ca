// A mirror of a department's deals and the tenant's customers, kept as the contract's
// "Keeping a mirror in sync" recipe says: (1) GET /events?start=now and keep next_cursor;
// (2) read /deals?include_deleted=true and /customers in full; (3) follow the feed from the kept
// cursor, applying an event only when its data.version is newer than the version held.
// Customers are kept by id and deals with their customer ids, so a customer.updated reaches
// every deal that embeds the customer.
//
// The lists carry no versions, so the mirror reads each listed object's ETag with a GET (a
// state at least as new as the list's, which the recipe's version rule handles the same way).
import { expect } from 'vitest';
import { type Call, etagNumber, type FeedEvent, follow, nowCursor } from './feed.ts';

type Held<T> = { version: number; value: T | null };

export async function listAll(call: Call, path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const reply = await call('GET', `${path}${path.includes('?') ? '&' : '?'}limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    items.push(...reply.json.data);
    cursor = reply.json.next_cursor;
  } while (cursor);
  return items;
}

export class Mirror {
  readonly deals = new Map<string, Held<any>>();
  readonly customers = new Map<string, Held<any>>();
  cursor = '';
  /** Every event the mirror was served, applied or not. */
  readonly served: FeedEvent[] = [];

  constructor(private readonly call: Call) {}

  async bootstrap(): Promise<void> {
    this.cursor = await nowCursor(this.call);
    // include_deleted=true is accepted only with sort=updated_at and updated_since (listDeals).
    for (const item of await listAll(this.call, '/deals?include_deleted=true&sort=updated_at&updated_since=2000-01-01T00:00:00Z')) {
      if (!('name' in item)) {
        // A tombstone: deletion is final, no later version can bring the deal back.
        this.deals.set(item.id, { version: Number.POSITIVE_INFINITY, value: null });
        continue;
      }
      const got = await this.call('GET', `/deals/${item.id}`);
      if (got.status === 404) this.deals.set(item.id, { version: Number.POSITIVE_INFINITY, value: null });
      else this.deals.set(item.id, { version: etagNumber(got), value: storedDeal(got.json) });
    }
    for (const item of await listAll(this.call, '/customers')) {
      const got = await this.call('GET', `/customers/${item.id}`);
      this.customers.set(item.id, { version: etagNumber(got), value: got.json });
    }
  }

  apply(event: FeedEvent): void {
    const { object, version } = event.data;
    const [resource] = event.type.split('.');
    const store = resource === 'deal' ? this.deals : this.customers;
    const held = store.get(object.id);
    if (held && held.version >= version) return;
    if (event.type === 'deal.deleted') store.set(object.id, { version: Number.POSITIVE_INFINITY, value: null });
    else store.set(object.id, { version, value: resource === 'deal' ? storedDeal(object) : object });
  }

  /** Follows the feed until `done` holds for what this mirror was served. */
  async catchUp(done: (served: FeedEvent[]) => boolean): Promise<void> {
    const before = this.served.length;
    const { events, cursor } = await follow(this.call, this.cursor, (events) => done([...this.served, ...events]));
    this.cursor = cursor;
    this.served.push(...events);
    for (const event of this.served.slice(before)) this.apply(event);
  }

  /** The department's live deals, rendered with the mirror's customers, by id. */
  renderedDeals(): Map<string, any> {
    const out = new Map<string, any>();
    for (const [id, held] of this.deals) {
      if (!held.value) continue;
      const { customerIds, ...deal } = held.value;
      out.set(id, { ...deal, customers: customerIds.map((c: string) => this.customers.get(c)?.value) });
    }
    return out;
  }

  /** Expects the mirror to equal what GET answers for every deal and customer now. */
  async expectEqualToApi(): Promise<void> {
    const deals = await listAll(this.call, '/deals');
    const current = new Map<string, any>();
    for (const d of deals) current.set(d.id, (await this.call('GET', `/deals/${d.id}`)).json);
    expect(this.renderedDeals()).toEqual(current);
    const customers = new Map<string, any>();
    for (const c of await listAll(this.call, '/customers')) customers.set(c.id, (await this.call('GET', `/customers/${c.id}`)).json);
    const mirrored = new Map([...this.customers].filter(([, h]) => h.value).map(([id, h]) => [id, h.value]));
    expect(mirrored).toEqual(customers);
  }
}

/** A deal as the mirror stores it: its customers by id only. */
function storedDeal(deal: any) {
  const { customers, ...rest } = deal;
  return { ...rest, customerIds: customers.map((c: any) => c.id) };
}
