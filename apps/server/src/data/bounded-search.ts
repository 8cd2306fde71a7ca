// A page of a list searched by a term (`q`), whose trigram index is shared by all tenants (it
// holds the text alone: with the tenant in it too, every search intersected a posting list of
// all the tenant's rows). Two strategies, which ONE statement chooses between as it runs, so
// that its generic plan (db/sql.ts) serves every term and every tenant:
//
// 1. The walk: the list's own sort index, scope and filters, at most SEARCH_WALK_ROWS rows,
//    keeping the matches. A common term fills a page within a few thousand rows at any table
//    size, and a small tenant (or department) is read whole, never touching the others' rows.
// 2. The trigram index, only when the walk neither filled the page nor read every row of the
//    list: a rare term in a large tenant. A function (api_deal_search_candidates,
//    api_customer_search_candidates) returns the term's rows of the tenant, planned for each
//    call with the real term: a generic plan cannot tell a rare term from a common one, and
//    read the whole table instead of the index. The statement keeps this list's rows and
//    sorts them (few, since the term is rare).
//
// A term without three letters or digits in a row has no trigram to look up: the index would
// return every row of every tenant. Such a term is searched by an unbounded walk alone, which
// reads at most the tenant's (or department's) rows.
import { Prisma } from '../generated/prisma/client.ts';

/** How far the walk reads the sort index before the trigram index is asked instead. */
export const SEARCH_WALK_ROWS = 10_000;
// In the text, not a parameter: the generic plan then knows how many rows the walk can read.
const walkRows = Prisma.raw(String(SEARCH_WALK_ROWS));

export type SearchedList = {
  /** The table and its alias, e.g. `deals d`. */
  from: Prisma.Sql;
  /** The alias alone. */
  alias: Prisma.Sql;
  /** The list's conditions without the search: scope, filters, cursor. */
  where: Prisma.Sql[];
  /** The call of the function that looks the term up in the trigram index, e.g. `api_deal_search_candidates(…)`. */
  candidates: Prisma.Sql;
  /** The search's own condition, applied to both strategies' rows (it may be stricter than the index's). */
  match: Prisma.Sql;
  /** The output columns, including `k` and `kid`, the sort key and id. */
  columns: Prisma.Sql;
  /** ORDER BY the sort column and id. */
  order: Prisma.Sql;
  /** ASC or DESC. */
  dir: Prisma.Sql;
  limit: number;
};

/** Whether pg_trgm can extract a trigram from the term: a run of three letters or digits. */
export const hasTrigram = (term: string) => /[\p{L}\p{N}]{3}/u.test(term);

export function searchedPage(term: string, list: SearchedList): Prisma.Sql {
  const { from, alias, where, candidates, match, columns, order, dir, limit } = list;
  const scope = Prisma.join(where, ' AND ');
  if (!hasTrigram(term)) {
    // OFFSET 0 keeps the match out of the scan: beside the scope, a generic plan took the
    // trigram index for it (with a BitmapAnd), which for such a term reads the whole index.
    return Prisma.sql`
      SELECT ${columns} FROM (SELECT * FROM ${from} WHERE ${scope} ${order} OFFSET 0) ${alias}
      WHERE ${match} ${order} LIMIT ${limit + 1}`;
  }
  // `walk` is materialized once and read by both branches; `walked_all` (a bounded count of
  // the list, on the same index) runs only when the walk did not fill the page; the second
  // branch runs only when neither holds (a one-time filter).
  return Prisma.sql`
    WITH walk AS MATERIALIZED (
      SELECT * FROM (
        SELECT * FROM ${from} WHERE ${scope} ${order} LIMIT ${walkRows}
      ) ${alias}
      WHERE ${match} ${order} LIMIT ${limit + 1}
    ),
    walked_all AS (
      SELECT count(*) < ${walkRows} AS yes FROM (SELECT 1 FROM ${from} WHERE ${scope} ${order} LIMIT ${walkRows}) x
    )
    SELECT * FROM (
      (SELECT ${columns} FROM walk ${alias}
       WHERE (SELECT count(*) FROM walk) > ${limit} OR (SELECT yes FROM walked_all)
       ${order})
      UNION ALL
      (SELECT ${columns}
       FROM ${candidates} ${alias}
       WHERE ${scope} AND ${match} AND (SELECT count(*) FROM walk) <= ${limit} AND NOT (SELECT yes FROM walked_all)
       ${order} LIMIT ${limit + 1})
    ) page
    ORDER BY k ${dir}, kid ${dir}`;
}
