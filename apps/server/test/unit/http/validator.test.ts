// translateValidatorError: every error express-openapi-validator raises becomes one of the
// API's problems. The errors are the validator's own classes, shaped as its request
// validator builds them (path, message, `<keyword>.openapi.validation`).
import { error as validatorErrors } from 'express-openapi-validator';
import { describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../../src/http/json-body.ts';
import { isValidatorError, translateValidatorError } from '../../../src/http/validator.ts';
import { ApiProblem } from '../../../src/problems.ts';

type Item = { path: string; message: string; errorCode?: string };
/** A 400 as the request validator raises it for schema violations. */
const badRequest = (errors: Item[], message = 'request/body must have required property') =>
  new validatorErrors.BadRequest({ path: '/api/v1/integration/deals', message, errors });
const ajv = (path: string, keyword: string, message: string): Item => ({ path, message, errorCode: `${keyword}.openapi.validation` });

/** As the error handler does it: recognise the validator's error, then translate it. */
function translate(error: unknown): ApiProblem {
  if (!isValidatorError(error)) throw new Error(`not a validator error: ${String(error)}`);
  return translateValidatorError(error);
}

describe('translateValidatorError', () => {
  describe('routing and media', () => {
    it('404: no such route', () => {
      const problem = translate(new validatorErrors.NotFound({ path: '/api/v1/integration/dealz', message: 'not found' }));
      expect(problem).toMatchObject({
        kind: 'not-found',
        status: 404,
        detail: 'No such route. See /openapi.yaml for the routes of this API.',
      });
    });

    it('405: keeps the Allow header', () => {
      const problem = translate(
        new validatorErrors.MethodNotAllowed({
          path: '/api/v1/integration/deals',
          message: 'PUT method not allowed',
          headers: { Allow: 'GET, POST' },
        }),
      );
      expect(problem).toMatchObject({ kind: 'method-not-allowed', status: 405, detail: 'PUT method not allowed' });
      expect(problem.extra.headers).toEqual({ Allow: 'GET, POST' });
    });

    it('413: names the body limit', () => {
      const problem = translate(new validatorErrors.RequestEntityTooLarge({ path: '/x', message: 'request entity too large' }));
      expect(problem).toMatchObject({
        kind: 'payload-too-large',
        status: 413,
        detail: `The request body exceeds ${BODY_LIMIT_BYTES} bytes.`,
      });
    });

    it('415: asks for JSON', () => {
      const problem = translate(new validatorErrors.UnsupportedMediaType({ path: '/x', message: 'unsupported media type text/plain' }));
      expect(problem).toMatchObject({ kind: 'unsupported-media-type', status: 415, detail: 'Send the request body as application/json.' });
    });
  });

  describe('404: an invalid path parameter names no object', () => {
    it.each([
      ['deal_id', 'No deal with this id exists in this department.'],
      ['customer_id', 'No customer with this id exists in this tenant.'],
      ['event_id', 'No event with this id exists for this department.'],
      ['endpoint_id', 'No webhook endpoint with this id exists in this department.'],
      ['step_id', 'No such object.'],
    ])('%s', (param, detail) => {
      const problem = translate(badRequest([ajv(`/params/${param}`, 'format', 'must match format "uuid"')]));
      expect(problem).toMatchObject({ kind: 'not-found', status: 404, detail });
    });

    it('even when the body is invalid too: the object is looked up first', () => {
      const problem = translate(
        badRequest([ajv('/body/volume', 'type', 'must be number'), ajv('/params/deal_id', 'format', 'must match format "uuid"')]),
      );
      expect(problem).toMatchObject({ kind: 'not-found', status: 404 });
    });

    it('a path segment that is not valid percent-encoding', () => {
      // As openapi.metadata.js raises it when decodeURIComponent fails (the quote is its own).
      const problem = translate(new validatorErrors.BadRequest({ path: '/api/v1/integration/deals/%E0%A4%A', message: "malformed uri'" }));
      expect(problem).toMatchObject({ kind: 'not-found', status: 404 });
    });
  });

  describe('400', () => {
    it('an unknown query parameter, pointing to the reference', () => {
      const problem = translate(new validatorErrors.BadRequest({ path: '/query/lmit', message: "Unknown query parameter 'lmit'" }));
      expect(problem).toMatchObject({
        kind: 'malformed-request',
        status: 400,
        detail: "Unknown query parameter 'lmit'. See the operation's parameters in the API reference.",
      });
    });

    it('an invalid header, by name', () => {
      const problem = translate(badRequest([ajv('/headers/x-department-id', 'format', 'must match format "uuid"')]));
      expect(problem).toMatchObject({
        kind: 'malformed-request',
        status: 400,
        detail: 'The x-department-id header must match format "uuid".',
      });
    });
  });

  describe('422: field errors, every one at once, in the errors map', () => {
    it('keyed by field path, with a sentence per violation', () => {
      const problem = translate(
        badRequest([
          ajv('/body/customers/0/last_name', 'required', "must have required property 'last_name'"),
          ajv('/body/id', 'additionalProperties', 'must NOT have additional properties'),
          ajv('/body/volume', 'minimum', 'must be >= 0'),
          ajv('/body/volume', 'type', 'must be integer.'),
          ajv('/query/limit', 'maximum', 'must be <= 100'),
        ]),
      );
      expect(problem).toMatchObject({ kind: 'validation-error', status: 422, detail: '4 fields failed validation.' });
      expect(problem.extra.errors).toEqual({
        'customers.0.last_name': ['The customers.0.last_name field is required.'],
        id: ['The id field is not allowed.'],
        volume: ['The volume field must be >= 0.', 'The volume field must be integer.'],
        limit: ['The limit field must be <= 100.'],
      });
    });

    it('an empty update asks for a field to change', () => {
      const problem = translate(badRequest([ajv('/body', 'minProperties', 'must NOT have fewer than 1 properties')]));
      expect(problem.extra.errors).toEqual({ body: ['Send at least one field to change.'] });
    });

    it("with no detail from the validator, its message under 'body'", () => {
      const problem = translate(badRequest([], 'request/body must be object'));
      expect(problem).toMatchObject({ kind: 'validation-error', status: 422 });
      expect(problem.extra.errors).toEqual({ body: ['request/body must be object'] });
    });
  });
});

describe('isValidatorError', () => {
  it("recognises the validator's errors and nothing else", () => {
    expect(isValidatorError(new validatorErrors.NotFound({ path: '/x' }))).toBe(true);
    expect(isValidatorError(badRequest([]))).toBe(true);
    expect(isValidatorError(new ApiProblem('not-found', 'No such object.'))).toBe(false);
    expect(isValidatorError(Object.assign(new Error('boom'), { status: 500 }))).toBe(false);
    expect(isValidatorError({ status: 400, errors: [] })).toBe(false);
  });
});
