-- Issue #7: the change feed (events) and webhooks (endpoints, deliveries, attempts).
-- Design and evidence: docs/design/change-feed/design.md.

-- Every change the API makes, appended by the same statement as the change. `txid` is the
-- inserting transaction: GET /events serves only events below the oldest transaction still
-- running (pg_snapshot_xmin), in (txid, id) order, so an event that commits late is never
-- passed over. `payload` is the exact text served and signed; it is never rebuilt.
CREATE TABLE events (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,                      -- UUIDv7: the payload's id and webhook-id
  txid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
  department_id    uuid,                                -- NULL: tenant-wide (customer events)
  type             text NOT NULL,
  resource_id      uuid NOT NULL,
  resource_version integer NOT NULL,
  request_id       text,
  api_key_id       uuid,
  occurred_at      timestamptz NOT NULL,
  payload          text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
-- Two partial indexes, not one with NULLs: each branch of the feed (the department's, the
-- tenant-wide one) is then an ordered index scan, merged. With one index the tenant-wide
-- branch was read whole and sorted (7.8 s at 1,000,000 events; design.md §a).
CREATE INDEX events_department_feed_idx ON events (tenant_id, department_id, txid, id) WHERE department_id IS NOT NULL;
CREATE INDEX events_tenant_feed_idx ON events (tenant_id, txid, id) WHERE department_id IS NULL;
CREATE INDEX events_resource_idx ON events (tenant_id, resource_id, txid, id);
-- The webhook dispatcher follows every tenant's events in one pass (webhooks/dispatch.ts).
CREATE INDEX events_dispatch_idx ON events (txid, id);

-- How far the retention sweep has deleted, per scope (a department, or the nil UUID for the
-- tenant-wide events): a cursor behind it gets 410, since an event it had not passed is gone.
CREATE TABLE event_horizons (
  tenant_id uuid NOT NULL,
  scope_id  uuid NOT NULL,
  txid      xid8 NOT NULL,
  id        uuid NOT NULL,
  PRIMARY KEY (tenant_id, scope_id)
);

-- The payload, built only here so every event has the same key order and number formats.
CREATE TYPE api_event_origin AS (request_id text, api_key_id uuid);
CREATE TYPE api_event_change AS (object json, version integer);                         -- *.created, deal.deleted
CREATE TYPE api_event_update AS (object json, previous_attributes json, version integer); -- *.updated, deal.step_changed
CREATE TYPE api_event AS (id uuid, type text, "timestamp" text, data json, origin json);

CREATE FUNCTION api_event_json(event_id uuid, event_type text, at timestamptz, data json, request_id text, api_key_id uuid)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT row_to_json(ROW(event_id, event_type, api_timestamp(at), data,
                         row_to_json(ROW(request_id, api_key_id)::api_event_origin))::api_event)::text
$$;

-- The OLD value of each field whose JSON differs, in the object's field order. Both sides come
-- from the same api_*_json functions, so text equality is value equality.
CREATE FUNCTION api_previous_attributes(old json, new json) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce('{' || string_agg(to_json(n.key)::text || ':' || o.value::text, ',' ORDER BY n.ord) || '}', '{}')::json
  FROM json_each(new) WITH ORDINALITY AS n (key, value, ord)
  JOIN json_each(old) AS o ON o.key = n.key
  WHERE o.value::text IS DISTINCT FROM n.value::text
$$;

-- A department's webhook endpoints. Secrets are sealed with AES-256-GCM under the server's
-- WEBHOOK_ENCRYPTION_KEY (webhooks/secret-box.ts): a database dump alone cannot sign.
CREATE TABLE webhook_endpoints (
  tenant_id                  uuid NOT NULL,
  id                         uuid NOT NULL,
  department_id              uuid NOT NULL,
  url                        text NOT NULL,
  enabled_events             text[] NOT NULL,
  description                text,
  status                     text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason            text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
  secret                     bytea NOT NULL,
  previous_secret            bytea,
  previous_secret_expires_at timestamptz,
  -- The first failed attempt since the last success: 5 days of only failures disable it.
  failing_since              timestamptz,
  max_concurrency            integer NOT NULL DEFAULT 10 CHECK (max_concurrency BETWEEN 1 AND 100),
  version                    integer NOT NULL DEFAULT 1,
  created_at                 timestamptz NOT NULL,
  updated_at                 timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
  CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL))
);
CREATE INDEX webhook_endpoints_department_idx ON webhook_endpoints (tenant_id, department_id, created_at, id);

-- One event to one endpoint. `pending` rows are the queue: a worker claims due ones with
-- FOR UPDATE SKIP LOCKED and leases them until `lease_expires_at`, so a crashed worker's
-- deliveries become due again when the lease runs out.
CREATE TABLE webhook_deliveries (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  endpoint_id      uuid NOT NULL,
  event_id         uuid NOT NULL,
  event_type       text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
  attempt_count    integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  lease_expires_at timestamptz,
  leased_by        text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (tenant_id, event_id);

CREATE TABLE webhook_attempts (
  tenant_id     uuid NOT NULL,
  delivery_id   uuid NOT NULL,
  attempt       integer NOT NULL,
  attempted_at  timestamptz NOT NULL,
  status_code   integer,
  duration_ms   integer NOT NULL,
  error         text CHECK (error IN ('timeout', 'dns', 'blocked', 'tls', 'connect', 'http')),
  response_body text,
  PRIMARY KEY (tenant_id, delivery_id, attempt),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);

-- Where the dispatcher has turned events into deliveries: one row, moved forward under its
-- row lock, so several server processes dispatch each event once.
CREATE TABLE webhook_dispatch_position (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  txid      xid8 NOT NULL,
  id        uuid NOT NULL
);
-- Starts before the first event.
INSERT INTO webhook_dispatch_position (txid, id) VALUES ('0', '00000000-0000-0000-0000-000000000000');
