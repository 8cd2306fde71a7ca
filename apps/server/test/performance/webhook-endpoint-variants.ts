// The prepared statements of webhook endpoints (issue #7); see variants.ts.
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

export async function webhookEndpointVariants(_loaded: LoadedDatabase, _add: AddVariant): Promise<void> {}
