import type { LoginThrottleConfig } from "@bms/shared/config/broker-config";

/** How one login attempt went through the throttle. */
export type ThrottledLogin<T> =
  /** Checked (after `waitedMs`); `result` is the check's. */
  | { admitted: true; waitedMs: number; result: T }
  /** Too many attempts from this address already waiting: not checked at all. */
  | { admitted: false };

interface AddressState {
  /** Failed logins counted against this address (reset after forgetAfterMs without one). */
  failures: number;
  lastFailureAt: number;
  /** The attempts of one address run one after the other: this settles when the last one did. */
  tail: Promise<void>;
  waiting: number;
}

export interface LoginThrottleClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: LoginThrottleClock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      // unref: a pending wait must not keep a closing broker alive.
      setTimeout(resolve, ms).unref();
    }),
};

/** Addresses remembered at most; past it, those idle longest are forgotten first. */
const MAX_ADDRESSES = 10_000;

/**
 * Throttles failed logins per source address: the first `freeFailures` failures cost nothing, then
 * each further attempt from that address waits `baseDelayMs` after the last failure, doubling with
 * every failure up to `maxDelayMs`. Attempts from one address are checked one at a time, so opening
 * many connections at once does not get around the wait; past `maxWaiting` queued attempts, new
 * ones are refused without a check. A success does not clear the count (an attacker who owns one
 * account cannot use it to reset the throttle on another); a quiet `forgetAfterMs` does.
 */
export class LoginThrottle {
  private readonly addresses = new Map<string, AddressState>();

  constructor(
    private readonly config: LoginThrottleConfig,
    private readonly clock: LoginThrottleClock = realClock,
  ) {}

  /** The wait owed before the next attempt of an address with `failures` failures, the last at `lastFailureAt`. */
  delayMs(failures: number, lastFailureAt: number): number {
    const over = failures - this.config.freeFailures;
    if (over <= 0) return 0;
    const delay = Math.min(this.config.maxDelayMs, this.config.baseDelayMs * 2 ** (over - 1));
    return Math.max(0, lastFailureAt + delay - this.clock.now());
  }

  /** Runs `check` for an attempt from `address` when its turn comes; `check` returns whether the login succeeded. */
  attempt<T>(address: string, check: () => { ok: boolean; result: T }): Promise<ThrottledLogin<T>> {
    const state = this.stateOf(address);
    if (state.waiting >= this.config.maxWaiting) return Promise.resolve({ admitted: false });
    state.waiting += 1;
    const turn = state.tail.then(async (): Promise<ThrottledLogin<T>> => {
      const waitedMs = this.delayMs(state.failures, state.lastFailureAt);
      if (waitedMs > 0) await this.clock.sleep(waitedMs);
      state.waiting -= 1;
      const { ok, result } = check();
      if (!ok) {
        state.failures += 1;
        state.lastFailureAt = this.clock.now();
      }
      return { admitted: true, waitedMs, result };
    });
    state.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Addresses currently remembered (for tests and metrics). */
  size(): number {
    return this.addresses.size;
  }

  private stateOf(address: string): AddressState {
    const now = this.clock.now();
    let state = this.addresses.get(address);
    if (state && state.waiting === 0 && now - state.lastFailureAt > this.config.forgetAfterMs) {
      this.addresses.delete(address);
      state = undefined;
    }
    if (!state) {
      this.evictIdle(now);
      state = { failures: 0, lastFailureAt: 0, tail: Promise.resolve(), waiting: 0 };
    } else {
      this.addresses.delete(address); // re-inserted below: the map stays in least-recently-used order
    }
    this.addresses.set(address, state);
    return state;
  }

  private evictIdle(now: number): void {
    for (const [address, state] of this.addresses) {
      if (this.addresses.size < MAX_ADDRESSES && now - state.lastFailureAt <= this.config.forgetAfterMs) return;
      if (state.waiting === 0) this.addresses.delete(address);
    }
  }
}
