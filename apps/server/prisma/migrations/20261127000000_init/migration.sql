-- The Deals API schema. Every table carries tenant_id and every primary key starts with it,
-- so each tenant's rows can be co-located on one shard of a distributed PostgreSQL (Citus
-- distributes by tenant_id) and every query can be routed by tenant.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE tenants (
  id         uuid PRIMARY KEY,
  tenant_id  uuid NOT NULL GENERATED ALWAYS AS (id) STORED,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  id         uuid NOT NULL,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE steps (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  department_id uuid NOT NULL,
  name          text NOT NULL,
  position      integer NOT NULL CHECK (position >= 1),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
  CONSTRAINT steps_department_position_key UNIQUE (tenant_id, department_id, position)
);

CREATE TABLE employees (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  id         uuid NOT NULL,
  first_name text NOT NULL,
  last_name  text NOT NULL,
  email      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Which departments an employee works in (an employee may work in several).
CREATE TABLE department_employees (
  tenant_id     uuid NOT NULL,
  department_id uuid NOT NULL,
  employee_id   uuid NOT NULL,
  PRIMARY KEY (tenant_id, department_id, employee_id),
  FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
  FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);
CREATE INDEX department_employees_employee_idx ON department_employees (tenant_id, employee_id);

-- Only a SHA-256 of the secret is stored; `prefix` is the secret's public start, shown in
-- listings so people can tell keys apart without the secret.
CREATE TABLE api_keys (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  id           uuid NOT NULL,
  name         text,
  prefix       text NOT NULL,
  secret_hash  bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);

CREATE TABLE api_key_departments (
  tenant_id     uuid NOT NULL,
  api_key_id    uuid NOT NULL,
  department_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, api_key_id, department_id),
  FOREIGN KEY (tenant_id, api_key_id) REFERENCES api_keys (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);

CREATE TABLE customers (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  id            uuid NOT NULL,
  company       text,
  website       text,
  title         text,
  first_name    text,
  last_name     text NOT NULL,
  phone_1       text,
  phone_2       text,
  phone_3       text,
  phone_1_label text,
  phone_2_label text,
  phone_3_label text,
  email         text,
  postcode      text,
  address       text,
  city          text,
  country       text,
  state         text,
  lead_origin   text,
  birthday      date,
  note          text,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customers_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_updated_idx ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_last_name_idx ON customers (tenant_id, last_name, id);
-- Partial: customers without an email are not in it. Besides keeping it small, this keeps it
-- out of the foreign-key checks' `tenant_id = $1 AND id = $2` lookups: on a young table (no
-- statistics yet) PostgreSQL cached a plan that scanned the whole tenant through this small
-- index instead of the primary key, and createDeal slowed down as customers accumulated.
CREATE INDEX customers_email_idx ON customers (tenant_id, lower(email)) WHERE email IS NOT NULL;
-- Trigram indexes hold the text alone: with the tenant in the index too (btree_gin), every
-- search intersected a posting list of all the tenant's rows (42 ms at 1,000,000 deals).
CREATE INDEX customers_search_idx ON customers USING gin (
  (lower(coalesce(last_name, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(company, '') || ' ' || coalesce(email, ''))) gin_trgm_ops
);

CREATE TABLE deals (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  department_id uuid NOT NULL,
  step_id       uuid NOT NULL,
  employee_id   uuid,
  name          text NOT NULL,
  volume        bigint NOT NULL DEFAULT 0 CHECK (volume BETWEEN 0 AND 9007199254740991),
  note          text,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
  FOREIGN KEY (tenant_id, step_id) REFERENCES steps (tenant_id, id),
  FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);
-- One index per sort key, scoped to the department, ending in id for keyset pagination;
-- one per equality filter in the default order; a trigram index for the name search.
CREATE INDEX deals_created_idx ON deals (tenant_id, department_id, created_at, id);
CREATE INDEX deals_updated_idx ON deals (tenant_id, department_id, updated_at, id);
CREATE INDEX deals_volume_idx ON deals (tenant_id, department_id, volume, id);
CREATE INDEX deals_name_idx ON deals (tenant_id, department_id, name, id);
CREATE INDEX deals_step_idx ON deals (tenant_id, department_id, step_id, created_at, id);
CREATE INDEX deals_employee_idx ON deals (tenant_id, department_id, employee_id, created_at, id);
CREATE INDEX deals_name_search_idx ON deals USING gin (name gin_trgm_ops);

-- A deal's customers, in the order they were linked.
CREATE TABLE deal_customers (
  tenant_id   uuid NOT NULL,
  deal_id     uuid NOT NULL,
  customer_id uuid NOT NULL,
  position    integer NOT NULL,
  PRIMARY KEY (tenant_id, deal_id, customer_id),
  FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX deal_customers_customer_idx ON deal_customers (tenant_id, customer_id, deal_id);

CREATE TABLE deal_step_changes (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  deal_id      uuid NOT NULL,
  from_step_id uuid,
  to_step_id   uuid NOT NULL,
  changed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_step_changes_deal_idx ON deal_step_changes (tenant_id, deal_id, changed_at, id);

-- What incremental sync sees of a deleted deal.
CREATE TABLE deal_tombstones (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  department_id uuid NOT NULL,
  deleted_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deal_tombstones_deleted_idx ON deal_tombstones (tenant_id, department_id, deleted_at, id);

-- The first successful response to each Idempotency-Key, kept 24 hours per tenant.
CREATE TABLE idempotency_records (
  tenant_id        uuid NOT NULL,
  key              text NOT NULL,
  request_hash     text NOT NULL,
  status_code      integer NOT NULL,
  response_body    text NOT NULL,
  response_headers jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_records_expires_idx ON idempotency_records (expires_at);

-- The API's representations, built by PostgreSQL so that a request needs one round trip and
-- no row objects are materialised in Node. Each is a one-expression SQL function (no FROM,
-- not volatile), which PostgreSQL inlines into the calling query instead of calling it per
-- row; the composite types name the fields and fix their order (the reference page's).
-- Timestamps: UTC, six fractional digits, `Z`.
CREATE FUNCTION api_timestamp(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE TYPE api_customer AS (
  id uuid, company text, website text, title text, first_name text, last_name text,
  phone_1 text, phone_2 text, phone_3 text, phone_1_label text, phone_2_label text, phone_3_label text,
  email text, postcode text, address text, city text, country text, state text, lead_origin text,
  birthday text, note text, tenant_id uuid, created_at text, updated_at text
);

CREATE FUNCTION api_customer_json(c customers) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT row_to_json(ROW(
    c.id, c.company, c.website, c.title, c.first_name, c.last_name,
    c.phone_1, c.phone_2, c.phone_3, c.phone_1_label, c.phone_2_label, c.phone_3_label,
    c.email, c.postcode, c.address, c.city, c.country, c.state, c.lead_origin,
    to_char(c.birthday, 'YYYY-MM-DD'), c.note, c.tenant_id,
    api_timestamp(c.created_at), api_timestamp(c.updated_at)
  )::api_customer)
$$;

CREATE TYPE api_deal AS (
  id uuid, name text, volume bigint, employee_id uuid, employee_name text, step_id uuid,
  department_id uuid, note text, created_at text, updated_at text, customers json
);

CREATE FUNCTION api_deal_json(d deals, employee_name text, customers json) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT row_to_json(ROW(
    d.id, d.name, d.volume, d.employee_id, employee_name, d.step_id, d.department_id, d.note,
    api_timestamp(d.created_at), api_timestamp(d.updated_at), coalesce(customers, '[]'::json)
  )::api_deal)
$$;

-- Lets a single-statement write abort itself (rolling back every CTE) when a check that can
-- only be made after its inserts fails.
CREATE FUNCTION api_abort(reason text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
END
$$;
