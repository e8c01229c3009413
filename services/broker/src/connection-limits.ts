import type { EventEmitter } from "node:events";

/**
 * Connections per account: a leaked password cannot open thousands of sessions. A connection that
 * reuses a client ID the account already has open is a takeover (the older one is about to be
 * closed), so it does not count twice.
 */
export class AccountConnections {
  private readonly open = new Map<string, Set<{ clientId: string }>>();

  /** Registers a connection of `username` with `clientId` until `conn` closes; false when the account is at `limit`. */
  admit(username: string, clientId: string, limit: number, conn: EventEmitter): boolean {
    let entries = this.open.get(username);
    if (!entries) {
      entries = new Set();
      this.open.set(username, entries);
    }
    let others = 0;
    for (const entry of entries) if (entry.clientId !== clientId) others += 1;
    if (others >= limit) return false;
    const entry = { clientId };
    const held = entries;
    held.add(entry);
    conn.once("close", () => {
      held.delete(entry);
      if (held.size === 0 && this.open.get(username) === held) this.open.delete(username);
    });
    return true;
  }

  count(username: string): number {
    return this.open.get(username)?.size ?? 0;
  }
}

/**
 * QoS 1/2 PUBLISH a client has in flight in the broker: counted when authorised, released once
 * stored and forwarded. aedes handles all packets of one socket read at once, so a client writing
 * thousands of tiny publishes in one go would have them all held together; past `limit` it is cut
 * off instead (MQTT 3.1.1 has no way to tell a client its receive window).
 */
export class InflightCounter<K extends object> {
  private readonly counts = new WeakMap<K, number>();

  constructor(private readonly limit: number) {}

  /** Counts one more; false (and nothing counted) when the client is already at the limit. */
  take(key: K): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.limit) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: K): void {
    const n = this.counts.get(key) ?? 0;
    if (n > 0) this.counts.set(key, n - 1);
  }
}
