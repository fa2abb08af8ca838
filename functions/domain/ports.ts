/** Time source. Domain code never calls `Date.now()` so tests and the local runtime can drive time. */
export interface Clock {
  now(): Date;
}

/** Source of random identifiers and secrets. */
export interface Random {
  /** A new 26-character lowercase base32 identifier. */
  id(): string;
  /** `bytes` random bytes, base64url-encoded. */
  secret(bytes: number): string;
}

export const systemClock: Clock = { now: () => new Date() };

/** ISO-8601 UTC with `Z`, whole seconds. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
