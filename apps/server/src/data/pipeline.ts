// The department's steps and employees: small, read-mostly lists.
import type { operations } from '@deals/api-types';
import type { Scope } from '../auth/scope.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ApiProblem } from '../problems.ts';
import { cursorKeys, decodeCursor, page } from './pagination.ts';

const badCursor = () => new ApiProblem('malformed-request', 'The cursor is not a next_cursor of this query.');

function parseNameKey(key: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(key);
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === 'string')) {
      return parsed as [string, string];
    }
  } catch {
    // fall through
  }
  throw badCursor();
}

type PageQuery = NonNullable<operations['listSteps']['parameters']['query']>;

export async function listSteps(prisma: PrismaClient, scope: Scope, query: PageQuery) {
  const limit = query.limit ?? 25;
  const cursorScope = ['listSteps', scope.tenantId, scope.departmentId];
  const after = decodeCursor(query.cursor, cursorScope, cursorKeys.integer);
  const afterPosition = after ? Number(after.key) : 0;
  if (!Number.isSafeInteger(afterPosition)) throw badCursor();
  // Positions are unique per department, so the position alone orders and pages them.
  const rows = await prisma.step.findMany({
    where: { tenant_id: scope.tenantId, department_id: scope.departmentId, position: { gt: afterPosition } },
    select: { id: true, department_id: true, name: true, position: true },
    orderBy: { position: 'asc' },
    take: limit + 1,
  });
  return page(rows, limit, (s) => String(s.position), cursorScope);
}

export async function listEmployees(prisma: PrismaClient, scope: Scope, query: PageQuery) {
  const limit = query.limit ?? 25;
  const cursorScope = ['listEmployees', scope.tenantId, scope.departmentId];
  const after = decodeCursor(query.cursor, cursorScope);
  const [lastName, firstName] = after ? parseNameKey(after.key) : [];
  const rows = await prisma.employee.findMany({
    where: {
      tenant_id: scope.tenantId,
      department_employees: { some: { department_id: scope.departmentId } },
      ...(after && lastName !== undefined && firstName !== undefined
        ? {
            OR: [
              { last_name: { gt: lastName } },
              { last_name: lastName, first_name: { gt: firstName } },
              { last_name: lastName, first_name: firstName, id: { gt: after.id } },
            ],
          }
        : {}),
    },
    select: { id: true, first_name: true, last_name: true, email: true },
    orderBy: [{ last_name: 'asc' }, { first_name: 'asc' }, { id: 'asc' }],
    take: limit + 1,
  });
  return page(rows, limit, (e) => JSON.stringify([e.last_name, e.first_name]), cursorScope);
}
