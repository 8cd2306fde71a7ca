-- The rows a search term's trigram index finds, for the searches whose walk of the sort index
-- did not settle the page (data/bounded-search.ts). The server runs every statement as a
-- named prepared statement, which PostgreSQL plans GENERICALLY after five runs: without the
-- term, it cannot tell a rare term (read the trigram index) from a common one, and on a
-- table of 36,000 deals its generic plan read the whole table. Here the lookup is planned
-- for each call with its real values (plan_cache_mode = force_custom_plan applies to the
-- statements of the function), so the planner sees the term and the tenant; planning this
-- one-table statement costs a fraction of a millisecond, and only searches that fall back
-- to the index pay it.
CREATE FUNCTION api_deal_search_candidates(tenant uuid, department uuid, pattern text) RETURNS SETOF deals
LANGUAGE plpgsql STABLE ROWS 100
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  RETURN QUERY
    SELECT * FROM deals d
    WHERE d.tenant_id = tenant AND d.department_id = department AND d.name ILIKE pattern;
END
$$;

-- The expression must be customers_search_idx's, or the index is not used.
CREATE FUNCTION api_customer_search_candidates(tenant uuid, pattern text) RETURNS SETOF customers
LANGUAGE plpgsql STABLE ROWS 100
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  RETURN QUERY
    SELECT * FROM customers c
    WHERE c.tenant_id = tenant
      AND lower(coalesce(c.last_name, '') || ' ' || coalesce(c.first_name, '') || ' ' || coalesce(c.company, '') || ' ' || coalesce(c.email, '')) LIKE pattern;
END
$$;
