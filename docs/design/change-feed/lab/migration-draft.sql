-- Draft of prisma/migrations/<ts>_events/migration.sql (design research, not applied to main).
CREATE TABLE events (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  txid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
  department_id    uuid,
  type             text NOT NULL,
  resource_id      uuid NOT NULL,
  resource_version integer NOT NULL,
  request_id       text,
  api_key_id       uuid,
  occurred_at      timestamptz NOT NULL,
  payload          text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_department_feed_idx ON events (tenant_id, department_id, txid, id) WHERE department_id IS NOT NULL;
CREATE INDEX events_tenant_feed_idx ON events (tenant_id, txid, id) WHERE department_id IS NULL;
CREATE INDEX events_resource_idx ON events (tenant_id, resource_id, txid, id);

CREATE TABLE event_horizons (
  tenant_id uuid NOT NULL,
  scope_id  uuid NOT NULL,
  txid      xid8 NOT NULL,
  id        uuid NOT NULL,
  PRIMARY KEY (tenant_id, scope_id)
);

CREATE TYPE api_event_origin AS (request_id text, api_key_id uuid);
CREATE TYPE api_event_change AS (object json, version integer);
CREATE TYPE api_event_update AS (object json, previous_attributes json, version integer);
CREATE TYPE api_event AS (id uuid, type text, "timestamp" text, data json, origin json);

CREATE FUNCTION api_event_json(event_id uuid, event_type text, at timestamptz, data json, request_id text, api_key_id uuid)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT row_to_json(ROW(event_id, event_type, api_timestamp(at), data,
                         row_to_json(ROW(request_id, api_key_id)::api_event_origin))::api_event)::text
$$;

CREATE FUNCTION api_previous_attributes(old json, new json) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce('{' || string_agg(to_json(n.key)::text || ':' || o.value::text, ',' ORDER BY n.ord) || '}', '{}')::json
  FROM json_each(new) WITH ORDINALITY AS n (key, value, ord)
  JOIN json_each(old) AS o ON o.key = n.key
  WHERE o.value::text IS DISTINCT FROM n.value::text
$$;
