import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedPath, renderTypes } from '../scripts/render-types.ts';

describe('generated types', () => {
  it('match openapi/deals.yaml (run `npm run generate` after editing the contract)', async () => {
    const committed = await readFile(generatedPath, 'utf8');
    const fresh = await renderTypes();
    // Compare line counts first so a drift reads as a short message, not a 1,000-line diff.
    expect(committed.split('\n').length, 'line count differs: the types are stale').toBe(fresh.split('\n').length);
    expect(committed === fresh, 'src/generated/deals.ts differs from the contract: run `npm run generate`').toBe(true);
  });
});
