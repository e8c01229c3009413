import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { addressKey, LoginThrottle } from "../src/login-throttle";
import { connected, type Harness, startHarness, TOKEN } from "./live-harness";

/** Failed logins throttled per source address with a growing delay, on REST and socket.io, counted in /metrics. */

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: string; retryAfterMs?: number };
}

/** GET from a chosen loopback address (all of 127.0.0.0/8 reaches the service), optionally through a "proxy" header. */
function getFrom(h: Harness, from: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.live.url}${path}`, { localAddress: from, headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => {
        const retryAfter = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === "string" ? retryAfter : undefined, body: JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end();
  });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const WRONG = bearer("wrong-token-wrong-token-0123");

async function metric(h: Harness, line: string): Promise<number> {
  const text = await (await fetch(`${h.live.url}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(" ").pop());
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("LoginThrottle", () => {
  it("doubles the block with each failure in a row, up to the maximum", () => {
    const throttle = new LoginThrottle({ initialDelayMs: 500, maxDelayMs: 30_000 });
    const delays = Array.from({ length: 9 }, (_, i) => throttle.failed("198.51.100.7", i * 10));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(throttle.check("198.51.100.7", 100)).toEqual({ allowed: false, retryAfterMs: 30_000 + 80 - 100 });
    expect(throttle.check("198.51.100.8", 100)).toEqual({ allowed: true });
    expect(throttle.check("198.51.100.7", 80 + 30_000)).toEqual({ allowed: true });
    expect(throttle.blockedCount(100)).toBe(1);
  });

  it("starts again from the first delay after a quiet spell", () => {
    const throttle = new LoginThrottle({ initialDelayMs: 500, maxDelayMs: 30_000, forgetAfterMs: 60_000 });
    expect(throttle.failed("198.51.100.7", 0)).toBe(500);
    expect(throttle.failed("198.51.100.7", 1000)).toBe(1000);
    expect(throttle.failed("198.51.100.7", 62_000)).toBe(500);
  });

  it("remembers a bounded number of addresses, forgetting the least recently failed", () => {
    const throttle = new LoginThrottle({ initialDelayMs: 1000, maxDelayMs: 1000, maxAddresses: 3 });
    for (const [i, address] of ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"].entries()) throttle.failed(address, i);
    expect(throttle.check("10.0.0.1", 10).allowed).toBe(true);
    expect(throttle.check("10.0.0.4", 10).allowed).toBe(false);
    expect(throttle.blockedCount(10)).toBe(3);
  });

  it("keys IPv4 by address (IPv4-mapped IPv6 too) and IPv6 by its /64", () => {
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::5")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
  });
});

describe("through the live service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ loginThrottleInitialMs: 400, loginThrottleMaxMs: 1600 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("blocks an address after a wrong REST token for a delay that doubles, refusing even the right token meanwhile", async () => {
    const first = await getFrom(h, "127.0.0.2", "/api/cases", WRONG);
    expect(first.status).toBe(401);
    const blocked = await getFrom(h, "127.0.0.2", "/api/cases", bearer(TOKEN));
    expect(blocked.status).toBe(429);
    expect(blocked.retryAfter).toBe("1");
    expect(blocked.body.error).toContain("too many failed logins");
    expect(blocked.body.retryAfterMs).toBeGreaterThan(0);
    expect(blocked.body.retryAfterMs).toBeLessThanOrEqual(400);

    // A correct token from another address is unaffected.
    expect((await getFrom(h, "127.0.0.3", "/api/cases", bearer(TOKEN))).status).toBe(200);

    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await waitFor(async () => (await getFrom(h, "127.0.0.2", "/api/me", {})).status !== 429, 5000, "the block to pass");
      expect((await getFrom(h, "127.0.0.2", "/api/cases", WRONG)).status).toBe(401);
      const next = await getFrom(h, "127.0.0.2", "/api/cases", WRONG);
      expect(next.status).toBe(429);
      seen.push(next.body.retryAfterMs ?? 0);
    }
    // Blocks of 800, 1600, 1600, 1600 ms (the maximum), as seen a moment after each failure.
    expect(seen[0]).toBeGreaterThan(400);
    expect(seen[0]).toBeLessThanOrEqual(800);
    for (const ms of seen.slice(1)) {
      expect(ms).toBeGreaterThan(800);
      expect(ms).toBeLessThanOrEqual(1600);
    }
    expect(await metric(h, 'bms_live_login_failures_total{transport="rest"}')).toBe(5);
    expect(await metric(h, 'bms_live_login_throttled_total{transport="rest"}')).toBeGreaterThanOrEqual(5);
  });

  it("counts no failure for a request without a token", async () => {
    const before = await metric(h, 'bms_live_login_failures_total{transport="rest"}');
    for (let i = 0; i < 3; i++) expect((await getFrom(h, "127.0.0.6", "/api/cases", {})).status).toBe(401);
    expect(await metric(h, 'bms_live_login_failures_total{transport="rest"}')).toBe(before);
    expect((await getFrom(h, "127.0.0.6", "/api/cases", bearer(TOKEN))).status).toBe(200);
  });
});

describe("socket.io", () => {
  it("throttles socket.io handshakes per address the same way, and tells the client when to retry", async () => {
    const h = await startHarness({ loginThrottleInitialMs: 5000 });
    cleanups.push(() => h.close());
    const wrong = h.socket({ token: "wrong-token-wrong-token-0123" }, "127.0.0.4");
    const refused = await new Promise<Error>((resolve) => wrong.once("connect_error", resolve));
    expect(refused.message).toBe("unauthorized");

    const blocked = h.socket({ token: TOKEN }, "127.0.0.4");
    const error = await new Promise<Error & { data?: { retryAfterMs?: number } }>((resolve) => blocked.once("connect_error", resolve));
    expect(error.message).toBe("throttled");
    expect(error.data?.retryAfterMs).toBeGreaterThan(0);

    const other = h.socket({ token: TOKEN }, "127.0.0.5");
    await connected(other);
    expect(await metric(h, 'bms_live_login_failures_total{transport="socket.io"}')).toBe(1);
    expect(await metric(h, 'bms_live_login_throttled_total{transport="socket.io"}')).toBe(1);
    expect(await metric(h, "bms_live_login_blocked_addresses")).toBeGreaterThanOrEqual(1);
  });
});

describe("behind a reverse proxy", () => {
  it("throttles the client X-Forwarded-For names when the peer is a trusted proxy, and ignores the header from anyone else", async () => {
    const proxied = await startHarness({ loginThrottleInitialMs: 5000, http: { host: "127.0.0.1", port: 0, trustProxy: ["127.0.0.1"] } });
    const direct = await startHarness({ loginThrottleInitialMs: 5000 });
    try {
      const as = (client: string, token = "wrong-token-wrong-token-0123") => ({ ...bearer(token), "x-forwarded-for": client });
      expect((await getFrom(proxied, "127.0.0.1", "/api/cases", as("203.0.113.7"))).status).toBe(401);
      expect((await getFrom(proxied, "127.0.0.1", "/api/cases", as("203.0.113.7", TOKEN))).status).toBe(429);
      expect((await getFrom(proxied, "127.0.0.1", "/api/cases", as("203.0.113.8", TOKEN))).status).toBe(200);
      // Not trusted: a forged header does not move the attacker to another address.
      expect((await getFrom(direct, "127.0.0.7", "/api/cases", as("203.0.113.7"))).status).toBe(401);
      expect((await getFrom(direct, "127.0.0.7", "/api/cases", as("203.0.113.9", TOKEN))).status).toBe(429);
    } finally {
      await proxied.close();
      await direct.close();
    }
  });
});

describe("the brute force of the issue (thousands of wrong tokens from one address)", () => {
  it("looks at only a handful of them with the default delays; the right token from elsewhere still works at once", async () => {
    const h = await startHarness({ loginThrottleInitialMs: undefined });
    try {
      const statuses: Record<number, number> = {};
      const started = Date.now();
      let sent = 0;
      const N = 2000;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (sent < N) {
            const n = sent++;
            const res = await getFrom(h, "127.0.0.8", "/api/cases", bearer(`wrong-token-${String(n).padStart(12, "0")}`));
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          }
        }),
      );
      expect((statuses[401] ?? 0) + (statuses[429] ?? 0)).toBe(N);
      // Blocks of 0.5 s, then 1 s, 2 s, ...: one guess is looked at per block that fits into the run.
      let lookedAt = 1;
      for (let at = 0, block = 500; at + block <= Date.now() - started; at += block, block = Math.min(2 * block, 30_000)) lookedAt++;
      expect(statuses[401]).toBeLessThanOrEqual(lookedAt);
      expect(statuses[429]).toBeGreaterThanOrEqual(N - lookedAt);
      expect(await metric(h, 'bms_live_login_throttled_total{transport="rest"}')).toBe(statuses[429]);
      expect((await getFrom(h, "127.0.0.9", "/api/cases", bearer(TOKEN))).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
