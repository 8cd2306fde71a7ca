-- A deal's step belongs to the deal's department, in the schema and not only in the write
-- statements' checks (data/deals-write.ts): the foreign key to the step now carries the
-- department, so no statement, however it is written (an admin's raw UPDATE included), can
-- point a deal at another department's step.
--
-- The composite key needs a unique (tenant_id, department_id, id) on steps, which id alone
-- already makes unique. It replaces deals (tenant_id, step_id) → steps (tenant_id, id): a
-- step that matches on the department matches on its id too.
--
-- Adding the key checks every existing deal (one pass over deals, holding a SHARE ROW
-- EXCLUSIVE lock, which blocks writes to deals for its duration). Every write has checked the
-- department since the first migration, so none should fail; one that does names the deal.
ALTER TABLE steps ADD CONSTRAINT steps_tenant_id_department_id_id_key UNIQUE (tenant_id, department_id, id);

ALTER TABLE deals DROP CONSTRAINT deals_tenant_id_step_id_fkey;
ALTER TABLE deals ADD CONSTRAINT deals_tenant_id_department_id_step_id_fkey
  FOREIGN KEY (tenant_id, department_id, step_id) REFERENCES steps (tenant_id, department_id, id);
