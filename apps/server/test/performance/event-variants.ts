// The prepared statements of events (issue #7); see variants.ts.
import type { LoadedDatabase } from './loaded-database.ts';
import type { AddVariant } from './variants.ts';

export async function eventVariants(_loaded: LoadedDatabase, _add: AddVariant): Promise<void> {}
