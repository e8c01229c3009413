import type { Logger } from "@bms/shared";

/**
 * Logs a rejected message once per (topic, category) per window, and at most `maxPerWindow`
 * lines per window in all, so a flood of bad messages (or of random topics) cannot flood the log.
 * What was suppressed is summed up in one line when the next window opens.
 */
export class RejectionLog {
  private readonly lastLogged = new Map<string, number>();
  private windowStart = 0;
  private loggedInWindow = 0;
  private suppressed = 0;

  /**
   * @param windowMs @default 60000
   * @param maxPerWindow @default 20
   */
  constructor(
    private readonly log: Logger,
    private readonly windowMs = 60_000,
    private readonly maxPerWindow = 20,
  ) {}

  reject(topic: string, category: string, reason: string, now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0)
        this.log.warn({ suppressed: this.suppressed }, `${this.suppressed} more rejected messages were not logged (see the dead-letter store)`);
      this.windowStart = now;
      this.loggedInWindow = 0;
      this.suppressed = 0;
      // Forget keys of past windows so a stream of random topics cannot grow the map forever.
      for (const [key, at] of this.lastLogged) if (now - at >= this.windowMs) this.lastLogged.delete(key);
    }
    const key = `${topic}\u0000${category}`;
    const last = this.lastLogged.get(key);
    if ((last !== undefined && now - last < this.windowMs) || this.loggedInWindow >= this.maxPerWindow) {
      this.suppressed++;
      return;
    }
    this.lastLogged.set(key, now);
    this.loggedInWindow++;
    this.log.warn({ topic: topic.slice(0, 200), category }, `message rejected: ${reason}`);
  }
}
