import type { DealChecks } from '../../data/deals-write.ts';
import { type FieldErrors, fieldErrors } from '../../problems.ts';

/** The 422 field errors for references a deal write named that are not in scope. */
export function referenceErrors(checks: DealChecks, body: { step_id?: string; customer_ids?: string[] }): FieldErrors {
  const errors = fieldErrors();
  if (!checks.step_ok) {
    errors.step_id = [
      body.step_id === undefined
        ? 'The department has no steps yet; create its pipeline first.'
        : 'The selected step_id is not a step of this department.',
    ];
  }
  if (!checks.employee_ok) errors.employee_id = ['The selected employee_id does not work in this department.'];
  for (const id of checks.unknown_customer_ids) {
    // PostgreSQL answers with lower-case ids; the client may have sent upper case.
    const index = body.customer_ids?.findIndex((given) => given.toLowerCase() === id) ?? -1;
    errors[`customer_ids.${index}`] = [`The selected customer_ids.${index} is not a customer of this tenant.`];
  }
  return errors;
}
