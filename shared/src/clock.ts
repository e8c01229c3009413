/**
 * How far ahead of its arrival a message's `ts` may be. Beyond it the sender's clock is wrong (or
 * hostile): the message is refused ("clock ahead") before it touches rule state, a site's clock,
 * the live view or the usage history, so one bad clock never blinds the rules of a pack or a site.
 */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** Why a message's ts cannot be believed, or null when it can. */
export function clockAheadReason(ts: number, arrivedAt: number, maxAheadMs = MAX_CLOCK_AHEAD_MS): string | null {
  const ahead = ts - arrivedAt;
  if (ahead <= maxAheadMs) return null;
  return `clock ahead: ts ${new Date(ts).toISOString()} is ${Math.round(ahead / 1000)} s ahead of its arrival at ${new Date(arrivedAt).toISOString()} (limit ${Math.round(maxAheadMs / 1000)} s): check the sender's clock`;
}
