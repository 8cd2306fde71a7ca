// The prepared statements of webhook deliverys (issue #7); see variants.ts.
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

export async function webhookDeliveryVariants(_loaded: LoadedDatabase, _add: AddVariant): Promise<void> {}
