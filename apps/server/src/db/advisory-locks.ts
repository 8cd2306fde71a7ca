// Every session-level or transaction-level advisory lock key with a fixed id, in one place,
// so two features can never pick the same number by accident. (Idempotency keys lock on a
// hash of tenant and key instead: data/idempotency.ts.)
export const ADVISORY_LOCKS = {
  /** Held while migrations are applied, so that several processes can start at once. */
  migrations: 7_204_551_913,
  /** Held while the demo tenant is seeded on an empty database. */
  demoSeed: 7_204_551_914,
} as const;
