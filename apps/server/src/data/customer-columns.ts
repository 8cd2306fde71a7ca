// The customer attributes a client may write (CustomerCreate / CustomerPatch in the contract),
// checked against the generated types so a new attribute in the contract fails the type
// check here until the column exists in the migration and this list.
import type { CustomerCreate } from '@deals/api-types';
import { Prisma } from '../generated/prisma/client.ts';

export const customerColumns = [
  'company',
  'website',
  'title',
  'first_name',
  'last_name',
  'phone_1',
  'phone_2',
  'phone_3',
  'phone_1_label',
  'phone_2_label',
  'phone_3_label',
  'email',
  'postcode',
  'address',
  'city',
  'country',
  'state',
  'lead_origin',
  'birthday',
  'note',
] as const satisfies readonly (keyof CustomerCreate)[];

type Missing = Exclude<keyof CustomerCreate, (typeof customerColumns)[number]>;
const everyAttributeListed: Missing extends never ? true : Missing = true;
void everyAttributeListed;

/** `company text, website text, ...` for jsonb_to_recordset column definitions. */
export const customerRecordColumns = Prisma.raw(customerColumns.map((c) => `${c} ${c === 'birthday' ? 'date' : 'text'}`).join(', '));
export const customerColumnList = Prisma.raw(customerColumns.join(', '));
export const customerColumnValues = (alias: string) => Prisma.raw(customerColumns.map((c) => `${alias}.${c}`).join(', '));
