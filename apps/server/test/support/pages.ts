// Every page of a list, following next_cursor to the end. A negative assertion ("another
// tenant's deal is not listed") that reads only the first page would pass with a leak on the
// second, so such assertions walk every page, with a small limit so that there are several.
export type PageReply = { status: number; text: string; json: any };

/**
 * GETs `path` (which carries its own query, e.g. `/deals?limit=1`), then the page at each
 * next_cursor, until there is none (or, for the event feed, whose next_cursor is always
 * present, until `has_more` is false). Throws on any answer but 200 and on a walk that does not end.
 */
export async function allPages<T = { id: string }>(
  get: (path: string) => Promise<PageReply>,
  path: string,
  maxPages = 1000,
): Promise<{ pages: T[][]; items: T[] }> {
  const pages: T[][] = [];
  let next = path;
  for (;;) {
    const reply = await get(next);
    if (reply.status !== 200) throw new Error(`GET ${next} answered ${reply.status}: ${reply.text}`);
    pages.push(reply.json.data as T[]);
    const cursor = reply.json.next_cursor as string | null;
    if (cursor === null || reply.json.has_more === false) return { pages, items: pages.flat() };
    if (pages.length >= maxPages) throw new Error(`GET ${path}: still a next_cursor after ${maxPages} pages`);
    next = `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;
  }
}

export const idsOf = (items: readonly { id: string }[]): string[] => items.map((item) => item.id);
