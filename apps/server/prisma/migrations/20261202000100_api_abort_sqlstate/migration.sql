-- A statement that aborts itself (data/idempotency.ts: a response for the Idempotency-Key
-- appeared after the statement's snapshot) says why with a SQLSTATE of the API's own class
-- "DA", which the server matches, instead of a message text it would have to search.
-- DA001: the idempotency race.
CREATE FUNCTION api_abort(code text, reason text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = reason;
END
$$;

-- api_abort(reason) stays for servers of the previous release that are still running during a
-- rolling deploy (they match its message); a later migration can drop it.
