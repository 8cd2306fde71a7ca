import type { OperationId } from '@deals/api-types';
import { describe, expect, it } from 'vitest';
import { contractValidator } from '../src/contract-validator.ts';

type Json = Record<string, unknown>;
const contract = contractValidator();
const reference = contract.example('ReferenceDeal') as Json;
const created = { 'content-type': 'application/json' };

/** Every named response example in the contract, with what it claims to be. */
function responseExamples() {
  const resolve = (node: Json): Json => {
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    return resolve(
      ref
        .slice(2)
        .split('/')
        .reduce<Json>((n, key) => n[key.replace(/~1/g, '/')] as Json, contract.document),
    );
  };
  const found: { operationId: OperationId; status: number; mediaType: string; name: string; value: unknown }[] = [];
  for (const item of Object.values(contract.document.paths as Record<string, Record<string, Json>>)) {
    for (const op of Object.values(item)) {
      if (typeof op.operationId !== 'string') continue;
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        for (const [mediaType, media] of Object.entries((resolve(response).content ?? {}) as Record<string, Json>)) {
          for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, Json>)) {
            found.push({
              operationId: op.operationId as OperationId,
              status: Number(status),
              mediaType,
              name,
              value: resolve(example).value,
            });
          }
        }
      }
    }
  }
  return found;
}

describe('contractValidator', () => {
  const examples = responseExamples();

  it('finds response examples for every operation', () => {
    const operationIds = Object.values(contract.document.paths as Record<string, Record<string, Json>>).flatMap((item) =>
      Object.values(item)
        .map((op) => op.operationId)
        .filter(Boolean),
    );
    expect(operationIds).toHaveLength(24);
    expect(new Set(examples.map((e) => e.operationId))).toEqual(new Set(operationIds));
  });

  it.each(examples.map((e) => [`${e.operationId} ${e.status} ${e.name}`, e] as const))(
    'accepts the contract example %s',
    (_label, example) => {
      expect(
        contract.check(example.operationId, {
          status: example.status,
          headers: { 'content-type': example.mediaType },
          body: example.value,
        }),
      ).toEqual([]);
    },
  );

  it('accepts a 204 without a body', () => {
    expect(contract.check('deleteDeal', { status: 204, headers: new Headers(), body: undefined })).toEqual([]);
  });

  it('rejects a status the operation does not declare', () => {
    expect(contract.check('deleteDeal', { status: 200, headers: created, body: reference })).toEqual([
      'deleteDeal 200: status 200 is not declared (declared: 204, 400, 401, 403, 404, 412, 429, 431, 503)',
    ]);
  });

  it('rejects a content type the status does not declare', () => {
    expect(contract.check('createDeal', { status: 401, headers: { 'content-type': 'application/json; charset=utf-8' }, body: {} })).toEqual(
      ['createDeal 401: content-type application/json is not declared (declared: application/problem+json)'],
    );
  });

  it('rejects a body that breaks the schema, naming the field', () => {
    const errors = contract.check('createDeal', {
      status: 201,
      headers: created,
      body: { ...reference, id: 'not-a-uuid', created_at: '2026-03-05T10:29:46Z' },
    });
    expect(errors).toEqual([
      'createDeal 201 body/id must match format "uuid" {"format":"uuid"}',
      expect.stringMatching(/^createDeal 201 body\/created_at must match pattern/),
    ]);
  });

  it('rejects a body where the contract declares none', () => {
    expect(contract.check('deleteDeal', { status: 204, headers: {}, body: { ok: true } })).toEqual([
      'deleteDeal 204: the contract declares no body, got {"ok":true}',
    ]);
  });

  it('checks declared headers that are present', () => {
    expect(contract.check('createDeal', { status: 201, headers: { ...created, 'Idempotent-Replayed': 'false' }, body: reference })).toEqual(
      ['createDeal 201 header Idempotent-Replayed must be equal to one of the allowed values {"allowedValues":["true"]}'],
    );
    expect(
      contract
        .check('createDeal', {
          status: 429,
          headers: { 'content-type': 'application/problem+json', 'retry-after': 'soon' },
          body: contract.example('ReferenceDeal'),
        })
        .at(0),
    ).toBe('createDeal 429 header Retry-After must be integer {"type":"integer"}');
  });

  it('assertResponse throws with every violation', () => {
    expect(() => contract.assertResponse('getDeal', { status: 200, headers: created, body: { ...reference, volume: -1 } })).toThrow(
      /getDeal 200 body\/volume must be >= 0/,
    );
  });

  it('knows the base path and operations', () => {
    expect(contract.basePath).toBe('/api/v1/integration');
    expect(contract.operation('listDealStepChanges')).toEqual({
      operationId: 'listDealStepChanges',
      method: 'get',
      path: '/deals/{deal_id}/step-changes',
    });
  });
});
