/** Delays that double per failure, between a floor and a ceiling. */
export interface BackoffOptions {
  /** First delay, ms. */
  minMs: number;
  /** Longest delay, ms. */
  maxMs: number;
}

/** The delay after `failures` failures in a row (1 → the floor), doubling up to the ceiling. */
export function exponentialDelay(options: BackoffOptions, failures: number): number {
  return Math.min(options.maxMs, options.minMs * 2 ** Math.max(0, failures - 1));
}

/** Exponential backoff: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private count = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Failures since the last reset. */
  get failures(): number {
    return this.count;
  }

  /** The delay the current run of failures has reached (the floor before any failure). */
  current(): number {
    return exponentialDelay(this.options, this.count);
  }

  /** Counts a failure; returns how long to wait before the next try. */
  next(): number {
    this.count++;
    return this.current();
  }

  reset(): void {
    this.count = 0;
  }
}
