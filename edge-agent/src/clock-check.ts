import type { AgentClock, Logger } from "@bms/shared";

/**
 * No clock that runs this agent can be earlier than this: the agent did not exist before it (the
 * year of this release). A gateway whose RTC battery died boots in 1970 or 2000: caught here even
 * before it reaches a broker. Raise it with each release.
 */
export const RELEASE_DATE = Date.UTC(2026, 0, 1);

export interface ClockCheckOptions {
  siteId: string;
  log: Logger;
  /** How far from the broker's time the clock may be, ms. */
  toleranceMs: number;
  /** The packs' manufacturing dates, `YYYY-MM-DD`: the clock cannot be before the latest. */
  manufacturedOn: readonly string[];
  /** @default Date.now */
  now?: () => number;
}

interface Reading {
  /** The agent's clock minus the reference when it was read, ms. */
  offsetMs: number;
  /** A retained copy may be as old as the broker's republishing interval: it can only tell "behind". */
  live: boolean;
}

/**
 * Checks the agent's own clock and says in the status when it is obviously wrong:
 * - always: before this release's date, or before a pack's manufacturing date (`behind`);
 * - against the broker's time (`$SYS/broker/time`, retained, republished every few seconds): more
 *   than `toleranceMs` behind it, or, from a live copy, ahead of it;
 * - where the broker publishes no time (Mosquitto): against the agent's own last retained status,
 *   whose `ts` this agent wrote before; a clock earlier than that went backwards (`behind`).
 * A wrong clock is only reported (one log line when it turns wrong, one when it is right again):
 * the samples keep the time they were read at.
 */
export class ClockCheck {
  private readonly now: () => number;
  private readonly floors: ReadonlyArray<{ ts: number; reference: "manufacturing-date" | "release-date" }>;
  private broker: Reading | undefined;
  private lastStatusTs: number | undefined;
  private reported: AgentClock["state"] | undefined;

  constructor(private readonly options: ClockCheckOptions) {
    this.now = options.now ?? Date.now;
    const made = options.manufacturedOn.map((d) => Date.parse(`${d}T00:00:00Z`)).filter((ts) => Number.isFinite(ts));
    this.floors = [{ ts: RELEASE_DATE, reference: "release-date" as const }, ...made.map((ts) => ({ ts, reference: "manufacturing-date" as const }))];
  }

  /** A copy of the broker's time arrived (`retained`: the copy stored at the broker, up to one interval old). */
  onBrokerTime(brokerTs: number, retained: boolean): void {
    this.broker = { offsetMs: this.now() - brokerTs, live: !retained };
    this.report();
  }

  /** The agent's own retained status from before arrived: its `ts`. */
  onLastStatus(ts: number): void {
    this.lastStatusTs = ts;
    this.report();
  }

  status(): AgentClock {
    const now = this.now();
    const floor = this.floors.reduce<(typeof this.floors)[number] | undefined>(
      (worst, f) => (now < f.ts && (!worst || f.ts > worst.ts) ? f : worst),
      undefined,
    );
    if (floor) return { state: "behind", reference: floor.reference, offsetMs: now - floor.ts };
    const { toleranceMs } = this.options;
    if (this.broker) {
      const { offsetMs, live } = this.broker;
      if (offsetMs < -toleranceMs) return { state: "behind", reference: "broker", offsetMs };
      if (live && offsetMs > toleranceMs) return { state: "ahead", reference: "broker", offsetMs };
      return { state: "ok", reference: "broker", offsetMs };
    }
    if (this.lastStatusTs !== undefined && now < this.lastStatusTs - toleranceMs) {
      return { state: "behind", reference: "last-status", offsetMs: now - this.lastStatusTs };
    }
    return { state: "unchecked" };
  }

  /** Logs when the verdict turns wrong, or right again; called at start and on every reading. */
  report(): void {
    const clock = this.status();
    const wrong = clock.state === "behind" || clock.state === "ahead";
    const fields = { siteId: this.options.siteId, ...clock, localTime: new Date(this.now()).toISOString() };
    if (wrong && clock.state !== this.reported) this.options.log.warn(fields, "the agent's clock is wrong: sample timestamps will be off");
    else if (!wrong && (this.reported === "behind" || this.reported === "ahead")) this.options.log.info(fields, "the agent's clock is right again");
    this.reported = clock.state;
  }
}
