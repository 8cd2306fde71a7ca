// A fuzzer driven by the contract: for every operation of openapi/deals.yaml, requests whose
// path, query, headers and body are generated from the contract's own schemas, half of them
// valid and half broken in exactly one place. Every answer must keep the contract: no 5xx, a
// status the operation declares, a body valid against the schema declared for that status and
// content type, and every error an application/problem+json Problem.
//
// Reproducible: the seed is fixed (FUZZ_SEED overrides it) and printed with every failure.
// The same seed makes the same requests, up to the ids of the objects beforeAll creates (new
// UUIDs each run, picked at the same positions). Requests run 4 at a time, so the order in
// which they reach the database varies a little between runs.

import type { OperationId } from '@deals/api-types';
import { contractValidator } from '@deals/contract-suite/contract-validator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractOperations } from '../../src/contract.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { Schema } from './contract-arbitraries.ts';
import { type FuzzRequest, type Operation, operationsOf, requestArbitrary } from './contract-requests.ts';
import { type RawClient, type RawReply, rawClient } from './raw-http.ts';
import { buildHostileWorld, type HostileWorld } from './world-data.ts';

const SEED = process.env.FUZZ_SEED === undefined ? 20_261_127 : Number(process.env.FUZZ_SEED);
const REQUESTS_PER_OPERATION = Number(process.env.FUZZ_REQUESTS_PER_OPERATION ?? 180);
const CONCURRENCY = 4;
// The brief of this fuzzer: at least 2,000 requests, unless a run asks for fewer on purpose.
const MIN_REQUESTS = process.env.FUZZ_REQUESTS_PER_OPERATION === undefined ? 2000 : 0;

const contract = contractValidator();
const document = contract.document as Schema;
const operations = operationsOf(document);

let server: TestServer;
let hostile: HostileWorld;
let http: RawClient;

beforeAll(async () => {
  server = await startTestServer({}, 6);
  hostile = await buildHostileWorld(server);
  http = rawClient(server.origin, CONCURRENCY);
}, 120_000);
afterAll(async () => {
  http?.close();
  await server?.close();
});

function requestsFor(op: Operation, index: number): FuzzRequest[] {
  const { world } = hostile;
  const random = '019cbd8b-dd90-7119-b13e-f99dc519c4ad';
  const dealTargets = op.operationId === 'deleteDeal' ? hostile.deletableDealIds : hostile.dealIds;
  const endpointTargets = op.operationId === 'deleteWebhookEndpoint' ? hostile.deletableEndpointIds : hostile.endpointIds;
  const arbitrary = requestArbitrary(op, {
    document,
    basePath: contract.basePath,
    auth: { 'X-Api-Key': world.apiKey, 'X-Department-Id': world.department.id },
    pools: {
      // Mostly objects that exist, so the success paths run; sometimes objects of another
      // department or tenant, which must be indistinguishable from ids that do not exist.
      deal_id: [...dealTargets, hostile.otherDepartmentDealId, hostile.otherTenantDealId, random],
      customer_id: [...hostile.customerIds, hostile.otherTenantCustomerId],
      customer_ids: [...hostile.customerIds, hostile.otherTenantCustomerId],
      step_id: [...world.department.steps.map((s) => s.id), world.otherDepartment.steps[0]!.id],
      employee_id: [...world.department.employees.map((e) => e.id), world.otherDepartment.employees[0]!.id],
      email: [...hostile.customerEmails.slice(0, 5), hostile.customerEmails[0]!.toUpperCase()],
      cursor: hostile.cursors,
      endpoint_id: [...endpointTargets, hostile.otherTenantEndpointId, random],
      event_id: [...hostile.eventIds, random],
      'If-Match': ['*', '"1"', '"2"', '"3"', 'W/"1"', '"1", "2"', '"999999999"'],
      'Idempotency-Key': ['fuzz-shared-key-1', 'fuzz-shared-key-2'],
    },
    hostile: { cursor: [...hostile.tamperedCursors, hostile.otherTenantCursor] },
  });
  return fc.sample(arbitrary, { seed: SEED + index, numRuns: REQUESTS_PER_OPERATION });
}

type Finding = { request: FuzzRequest; reply: RawReply; problems: string[] };

function check(request: FuzzRequest, reply: RawReply): string[] {
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`status ${reply.status} (a server error)`);
  if (reply.status >= 400 && !reply.contentType.startsWith('application/problem+json')) {
    problems.push(`error with content-type "${reply.contentType}" instead of application/problem+json`);
  }
  problems.push(...contract.check(request.operationId as OperationId, { status: reply.status, headers: reply.headers, body: reply.body }));
  return problems;
}

/** One line per kind of failure: ids, numbers and long runs of one character are blurred. */
const signature = (f: Finding) =>
  `${f.request.operationId} ${f.reply.status}: ${f.problems[0]!.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
    .replace(/\d+/g, 'N')
    .replace(/(.)\1{9,}/g, '$1…')
    .slice(0, 160)}`;

function describeRequest(r: FuzzRequest): string {
  const headers = Object.entries(r.headers ?? {})
    .filter(([name]) => name !== 'X-Api-Key')
    .map(([name, value]) => `${name}: ${value.length > 80 ? `${value.slice(0, 80)}…(${value.length})` : value}`);
  const body =
    r.body === undefined
      ? ''
      : `\n    body: ${String(r.body).length > 400 ? `${String(r.body).slice(0, 400)}…(${String(r.body).length} chars)` : String(r.body)}`;
  const path = r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length} chars)` : r.path;
  return `${r.method} ${path}  [${r.intent}]\n    ${headers.join('\n    ')}${body}`;
}

async function runAll(requests: FuzzRequest[], onReply: (request: FuzzRequest, reply: RawReply) => void) {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      onReply(request, await http.send(request));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

describe('fuzzing every operation of the contract', () => {
  it(`keeps the contract for ${REQUESTS_PER_OPERATION} generated requests per operation (seed ${SEED})`, async () => {
    const perOperation = operations.map((op, i) => requestsFor(op, i));
    // Interleaved, so that reads, writes and deletes of the same objects overlap.
    const requests = perOperation[0]!.flatMap((_, i) => perOperation.map((list) => list[i]!));

    const statuses: Record<string, Record<number, number>> = {};
    const findings: Finding[] = [];
    const started = Date.now();
    await runAll(requests, (request, reply) => {
      const counts = (statuses[request.operationId] ??= {});
      counts[reply.status] = (counts[reply.status] ?? 0) + 1;
      const problems = check(request, reply);
      if (problems.length) findings.push({ request, reply, problems });
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    const summary = Object.entries(statuses).map(([id, counts]) => {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      return `  ${id.padEnd(20)} ${String(total).padStart(4)}  ${Object.entries(counts)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`;
    });
    console.log(`fuzz seed ${SEED}: ${requests.length} requests in ${seconds} s\n${summary.join('\n')}`);

    // Every operation the server routes was fuzzed, equally, and each reached its success path.
    const operationIds = contractOperations.map((op) => op.operationId).sort();
    expect(operations.map((op) => op.operationId).sort()).toEqual(operationIds);
    expect(Object.keys(statuses).sort()).toEqual(operationIds);
    for (const counts of Object.values(statuses)) expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(REQUESTS_PER_OPERATION);
    expect(requests.length).toBeGreaterThanOrEqual(MIN_REQUESTS);
    for (const op of operations) {
      const successes = Object.entries(statuses[op.operationId]!).filter(([s]) => Number(s) < 300);
      expect(successes.length, `${op.operationId} never succeeded`).toBeGreaterThan(0);
    }

    const bySignature = new Map<string, Finding[]>();
    for (const finding of findings) bySignature.set(signature(finding), [...(bySignature.get(signature(finding)) ?? []), finding]);
    const report = [...bySignature.entries()].map(([sig, list]) => {
      // The smallest example is the easiest to read and to replay.
      const example = list.reduce((a, b) =>
        a.request.path.length + String(a.request.body ?? '').length <= b.request.path.length + String(b.request.body ?? '').length ? a : b,
      );
      return `✗ ${sig}  (${list.length}×)\n    ${describeRequest(example.request)}\n    → ${example.reply.status} ${example.reply.contentType}: ${example.reply.text.slice(0, 300)}\n    ${example.problems.slice(0, 3).join('\n    ')}`;
    });
    expect(
      findings.length,
      `FUZZ_SEED=${SEED}: ${findings.length} of ${requests.length} responses break the contract, ${bySignature.size} kinds:\n\n${report.join('\n\n')}\n`,
    ).toBe(0);
  }, 180_000);
});
