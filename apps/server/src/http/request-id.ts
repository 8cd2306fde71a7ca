import type { RequestHandler } from 'express';
import type { IdGenerator } from '../ids.ts';

// A caller's own X-Request-Id is kept when it is safe to echo into headers and logs.
const CALLER_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestId(newId: IdGenerator): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given !== undefined && CALLER_ID.test(given) ? given : newId();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}
