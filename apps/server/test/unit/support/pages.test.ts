// allPages is what negative tenancy assertions rest on (test/scope): it must reach the last
// page, so that an object leaked onto page 2 or later is in what the assertion sees.
import { describe, expect, it } from 'vitest';
import { allPages, idsOf, type PageReply } from '../../support/pages.ts';

/** A list served as `get` would serve it: `limit` items a page, the cursor an offset. */
function listOf(ids: string[], limit: number) {
  const requested: string[] = [];
  const get = async (path: string): Promise<PageReply> => {
    requested.push(path);
    const offset = Number(new URL(path, 'http://x').searchParams.get('cursor') ?? 0);
    const data = ids.slice(offset, offset + limit).map((id) => ({ id }));
    const next_cursor = offset + limit < ids.length ? String(offset + limit) : null;
    return { status: 200, text: '', json: { data, next_cursor } };
  };
  return { get, requested };
}

describe('allPages', () => {
  it('reaches an object on the last page', async () => {
    const list = listOf(['ours-1', 'ours-2', 'ours-3', 'LEAKED'], 1);
    const walk = await allPages(list.get, '/deals?limit=1');
    expect(idsOf(walk.items)).toContain('LEAKED');
    expect(walk.pages).toHaveLength(4);
    expect(list.requested).toEqual(['/deals?limit=1', '/deals?limit=1&cursor=1', '/deals?limit=1&cursor=2', '/deals?limit=1&cursor=3']);
  });

  it('starts a query string when the path has none', async () => {
    const list = listOf(['a', 'b'], 1);
    await allPages(list.get, '/steps');
    expect(list.requested).toEqual(['/steps', '/steps?cursor=1']);
  });

  it('fails on an answer other than 200, and on a walk that does not end', async () => {
    await expect(allPages(async () => ({ status: 400, text: 'bad cursor', json: {} }), '/deals')).rejects.toThrow(
      /answered 400: bad cursor/,
    );
    const endless = async (): Promise<PageReply> => ({ status: 200, text: '', json: { data: [], next_cursor: 'again' } });
    await expect(allPages(endless, '/deals', 5)).rejects.toThrow(/still a next_cursor after 5 pages/);
  });
});
