import { describe, expect, it } from "vitest";
import { SocketGuard } from "../src/socket-guard";

const options = { slowBytes: 1000, maxBytes: 2000, perSecond: 10, burst: 100 };

describe("SocketGuard's rate", () => {
  it("lets a burst through, then the rate", () => {
    const guard = new SocketGuard(options, 0);
    for (let i = 0; i < 100; i++) expect(guard.take(0)).toBe(true);
    expect(guard.take(0)).toBe(false);
    expect(guard.take(100)).toBe(true);
    expect(guard.ignoresRefusals).toBe(false);
  });

  it("flags a client that sends 100 messages every 100 ms, though one in each batch gets through", () => {
    const guard = new SocketGuard(options, 0);
    let flaggedAt: number | null = null;
    for (let t = 0; t < 5000 && flaggedAt === null; t += 100) {
      for (let i = 0; i < 100; i++) guard.take(t);
      if (guard.ignoresRefusals) flaggedAt = t;
    }
    expect(flaggedAt).not.toBeNull();
    expect(flaggedAt).toBeLessThanOrEqual(200);
  });

  it("does not flag a client that backs off after being refused", () => {
    const guard = new SocketGuard(options, 0);
    // A console reconnecting to 150 sites at once: 50 refused, then it waits and retries at the rate.
    for (let i = 0; i < 150; i++) guard.take(0);
    for (let t = 1000; t < 60_000; t += 100) guard.take(t);
    expect(guard.ignoresRefusals).toBe(false);
  });

  it("counts a refusal partly worked off as a whole one (a small burst is not escaped by milliseconds)", () => {
    const guard = new SocketGuard({ ...options, perSecond: 0.1, burst: 4 }, 0);
    for (let i = 0; i < 4; i++) guard.take(0);
    for (let t = 1; t <= 4; t++) guard.take(t);
    expect(guard.ignoresRefusals).toBe(true);
  });

  it("works refusals off at the rate", () => {
    const guard = new SocketGuard(options, 0);
    for (let i = 0; i < 199; i++) guard.take(0);
    expect(guard.ignoresRefusals).toBe(false);
    guard.take(0);
    expect(guard.ignoresRefusals).toBe(true);
    // 10 s at 10 a second works off 100 refusals; this message is refused no more (tokens came back).
    expect(guard.take(10_000)).toBe(true);
    expect(guard.ignoresRefusals).toBe(false);
  });
});
