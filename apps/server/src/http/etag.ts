// Strong ETags from the row's version counter, bumped by every write of the row.
import { ApiProblem } from '../problems.ts';

export const etagOf = (version: number): string => `"${version}"`;

/**
 * The versions an If-Match header accepts: null when the header is absent or `*` (any
 * existing object matches), else the versions of its strong ETags. Weak ETags never match
 * If-Match (RFC 9110 strong comparison), so `W/"3"` contributes nothing.
 */
export function parseIfMatch(header: string | undefined): number[] | null {
  if (header === undefined || header.trim() === '*') return null;
  const versions: number[] = [];
  for (const tag of header.split(',')) {
    const m = /^\s*"(\d{1,9})"\s*$/.exec(tag);
    if (m) versions.push(Number(m[1]));
  }
  return versions;
}

export const preconditionFailed = (what: string) =>
  new ApiProblem('precondition-failed', `The ${what} was changed since the ETag in If-Match; read it again.`);
