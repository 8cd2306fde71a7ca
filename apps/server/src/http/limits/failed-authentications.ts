// Key guessing and floods of unknown keys, bounded per client address. Authentication asks
// `refuseIfBlocked` before it hashes a key or touches the database, and `record`s each key
// that turned out unknown or revoked; past `perMinute` of those, every request from the
// address gets 429 until its window (a minute from its first failure) ends.
//
// What counts: a presented key that is unknown or revoked. A missing X-Api-Key costs nothing
// and guesses nothing; a 403 (a valid key, a department not granted) comes from a caller that
// holds a key, and the per-key limit bounds it. A success does not reset the count, or one
// valid key would launder unlimited guesses.
//
// Bound: failures are recorded when their lookup ends, so requests already in flight when the
// limit is reached still run; the database sees at most perMinute + (concurrent requests).
import { ApiProblem } from '../../problems.ts';
import { type LimiterFactory, secondsUntilReset } from './limiters.ts';

export type FailedAuthentications = {
  /** Throws a 429 problem if `address` has used up its failures. */
  refuseIfBlocked(address: string): Promise<void>;
  record(address: string): Promise<void>;
};

/** `perMinute` 0 turns the limit off. */
export function failedAuthentications(perMinute: number, limiters: LimiterFactory): FailedAuthentications {
  if (perMinute === 0) return { refuseIfBlocked: async () => {}, record: async () => {} };
  const limiter = limiters({ keyPrefix: 'failed-authentications', points: perMinute, windowSeconds: 60 });
  return {
    async refuseIfBlocked(address) {
      const state = await limiter.get(address);
      // A window whose time is up may linger until the store sweeps it: it blocks nothing.
      if (state === null || state.consumedPoints < perMinute || state.msBeforeNext <= 0) return;
      throw new ApiProblem('rate-limited', 'Too many failed authentications (unknown or revoked API keys) from this address.', {
        headers: { 'Retry-After': String(secondsUntilReset(state)) },
      });
    },
    async record(address) {
      await limiter.penalty(address);
    },
  };
}
