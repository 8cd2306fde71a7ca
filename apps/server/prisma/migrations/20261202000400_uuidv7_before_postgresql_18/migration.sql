-- UUIDv7 made in SQL (the webhook deliveries the dispatcher and `recover` create), for every
-- PostgreSQL the API supports: the built-in uuidv7() came with PostgreSQL 18. A v4 UUID with
-- its first 48 bits replaced by the Unix milliseconds and its version nibble turned from 4 to 7.
CREATE FUNCTION api_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
