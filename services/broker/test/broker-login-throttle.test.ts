import { parseConfig } from "@bms/shared";
import { LoginThrottleConfig } from "@bms/shared/config/broker-config";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LoginThrottle, type LoginThrottleClock } from "../src/login-throttle";
import { AGENT, startTestBroker, type TestBroker } from "./broker-fixture";
import { TestClients } from "./broker-test-clients";

const BAD_USERNAME_OR_PASSWORD = 4;
const SERVER_UNAVAILABLE = 3;

/** A clock the test moves: sleeps resolve when `advance` passes their deadline. */
class FakeClock implements LoginThrottleClock {
  t = 1_000_000;
  private sleepers: Array<{ until: number; wake: () => void }> = [];
  now = () => this.t;
  sleep = (ms: number) => new Promise<void>((resolve) => this.sleepers.push({ until: this.t + ms, wake: resolve }));
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.until <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.wake();
    await new Promise((resolve) => setImmediate(resolve));
  }
  waiting(): number[] {
    return this.sleepers.map((s) => s.until - this.t);
  }
}

const config = (over: Record<string, number> = {}) => parseConfig(LoginThrottleConfig, { freeFailures: 2, baseDelayMs: 100, maxDelayMs: 800, ...over }, "test");
const fail = () => ({ ok: false, result: "refused" });
const succeed = () => ({ ok: true, result: "accepted" });

describe("LoginThrottle", () => {
  it("lets the free failures cost nothing, then waits a doubling delay after each failure, up to the maximum", async () => {
    const clock = new FakeClock();
    const throttle = new LoginThrottle(config(), clock);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const attempt = throttle.attempt("10.0.0.1", fail);
      await new Promise((resolve) => setImmediate(resolve));
      const [pending] = clock.waiting();
      waits.push(pending ?? 0);
      if (pending !== undefined) await clock.advance(pending);
      expect(await attempt).toMatchObject({ admitted: true, result: "refused" });
    }
    expect(waits).toEqual([0, 0, 0, 100, 200, 400, 800, 800]);
  });

  it("takes parallel attempts of one address one at a time, and refuses those past maxWaiting unchecked", async () => {
    const clock = new FakeClock();
    const throttle = new LoginThrottle(config({ freeFailures: 0, maxWaiting: 3 }), clock);
    let checks = 0;
    const attempts = Array.from({ length: 10 }, () =>
      throttle.attempt("10.0.0.2", () => {
        checks += 1;
        return fail();
      }),
    );
    const refusedAtOnce = (await Promise.race([Promise.all(attempts.slice(3)), new Promise((r) => setTimeout(r, 50, "pending"))])) as unknown;
    expect(refusedAtOnce).toEqual(Array(7).fill({ admitted: false }));
    expect(checks).toBe(1); // the first: no failure yet, no wait
    await clock.advance(100);
    expect(checks).toBe(2);
    await clock.advance(200);
    expect(checks).toBe(3);
  });

  it("keeps addresses apart, is not reset by a success, and forgets an address quiet for forgetAfterMs", async () => {
    const clock = new FakeClock();
    const throttle = new LoginThrottle(config({ freeFailures: 1, forgetAfterMs: 60_000 }), clock);
    await throttle.attempt("10.0.0.3", fail);
    await throttle.attempt("10.0.0.3", fail);
    expect(throttle.delayMs(2, clock.now())).toBe(100);
    // Another address is not slowed down.
    expect(await throttle.attempt("10.0.0.4", succeed)).toEqual({ admitted: true, waitedMs: 0, result: "accepted" });
    const delayed = throttle.attempt("10.0.0.3", succeed);
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(100);
    expect(await delayed).toEqual({ admitted: true, waitedMs: 100, result: "accepted" });
    // The success did not clear the count: the next failure's wait keeps doubling.
    await throttle.attempt("10.0.0.3", fail);
    expect(clock.waiting()).toEqual([]);
    const next = throttle.attempt("10.0.0.3", fail);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.waiting()).toEqual([200]);
    await clock.advance(200);
    await next;
    await clock.advance(60_001);
    expect(await throttle.attempt("10.0.0.3", succeed)).toEqual({ admitted: true, waitedMs: 0, result: "accepted" });
  });
});

describe("failed MQTT logins through the broker", () => {
  let broker: TestBroker;
  const clients = new TestClients();
  beforeAll(async () => {
    broker = await startTestBroker({ loginThrottle: { freeFailures: 3, baseDelayMs: 200, maxDelayMs: 1000, maxWaiting: 8 } });
  });
  afterEach(() => clients.endAll());
  afterAll(() => broker.close());

  it("a burst of wrong passwords is checked one at a time with growing waits; the rest are refused unchecked; all counted", async () => {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const options = { username: AGENT.username, password: `wrong-password-${i}`, clientId: "edge-site-1", connectTimeout: 20_000 };
        const code = await clients.refusedCode(broker.url, options);
        return { code, afterMs: Date.now() - started };
      }),
    );
    const checked = results.filter((r) => r.code === BAD_USERNAME_OR_PASSWORD).sort((a, b) => a.afterMs - b.afterMs);
    const refused = results.filter((r) => r.code === SERVER_UNAVAILABLE);
    expect(checked.length + refused.length).toBe(100);
    // Only the free failures and those that found room in the queue were checked at all: most were
    // refused unchecked (how many found room depends on how fast the 100 connections arrived).
    expect(refused.length).toBeGreaterThanOrEqual(50);
    // Three free failures, then 200, 400, 800, 1000, 1000 ms... (each at least that long after the one before).
    const expectedWaits = [0, 0, 0, 0, 200, 400, 800, 1000, 1000, 1000, 1000, 1000];
    let atLeast = 0;
    checked.forEach((r, i) => {
      atLeast += expectedWaits[i] ?? 1000;
      expect(r.afterMs).toBeGreaterThanOrEqual(atLeast - 20);
    });

    const values = async (name: string) => (await broker.registry.getSingleMetric(name)?.get())?.values ?? [];
    expect((await values("bms_broker_logins_failed_total")).find((v) => v.labels.reason === "wrong-password")?.value).toBe(checked.length);
    const throttled = await values("bms_broker_logins_throttled_total");
    expect(throttled.find((v) => v.labels.outcome === "refused")?.value).toBe(refused.length);
    expect(throttled.find((v) => v.labels.outcome === "delayed")?.value).toBe(checked.length - 4);

    // The right password from the same address still gets in, after the current wait.
    const before = Date.now();
    const agent = await clients.connect(broker.url, { username: AGENT.username, password: AGENT.password, clientId: "edge-site-1", connectTimeout: 10_000 });
    expect(agent.connected).toBe(true);
    expect(Date.now() - before).toBeGreaterThanOrEqual(900);
  }, 30_000);
});
