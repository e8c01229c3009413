import type { CaseEvent, PackHistory, SupportCase } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { connected, emitWithAck, type Harness, meta, openCase, sample, startHarness, TOKEN } from "./live-harness";

let h: Harness;
const auth = { authorization: `Bearer ${TOKEN}` };

function get(path: string, headers: Record<string, string> = auth) {
  return fetch(`${h.live.url}${path}`, { headers });
}

function post(path: string, body: string, headers: Record<string, string> = { ...auth, "content-type": "application/json" }) {
  return fetch(`${h.live.url}${path}`, { method: "POST", headers, body });
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("REST authentication", () => {
  it("refuses a request without a token", async () => {
    const res = await get("/api/cases", {});
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: expect.stringContaining("unauthorized") });
  });

  it("refuses a wrong token, a token of the wrong length and a non-bearer scheme", async () => {
    for (const header of [`Bearer ${TOKEN}x`, "Bearer short", `Basic ${TOKEN}`, `Bearer ${"a".repeat(4000)}`, "Bearer"]) {
      const res = await get("/api/packs", { authorization: header });
      expect(res.status, header.slice(0, 30)).toBe(401);
    }
  });

  it("accepts the engineer token", async () => {
    const res = await get("/api/cases");
    expect(res.status).toBe(200);
    expect(Array.isArray(await res.json())).toBe(true);
  });

  it("serves /healthz without a token", async () => {
    const res = await fetch(`${h.live.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", mqttConnected: true });
  });
});

describe("GET /api/cases", () => {
  let a: SupportCase;
  let b: SupportCase;
  beforeAll(async () => {
    a = await openCase(h.caseStore, "site-a", "pack-1", "cell-overvoltage");
    b = await openCase(h.caseStore, "site-b", "pack-2", "over-temperature");
    await openCase(h.caseStore, "site-b", "pack-3", "cell-overvoltage");
  });

  it("filters by site, pack, rule and status", async () => {
    const bySite = (await (await get("/api/cases?siteId=site-b")).json()) as SupportCase[];
    expect(bySite.map((c) => c.packId).sort()).toEqual(["pack-2", "pack-3"]);
    const byPack = (await (await get("/api/cases?siteId=site-a&packId=pack-1")).json()) as SupportCase[];
    expect(byPack.map((c) => c.id)).toEqual([a.id]);
    const byRule = (await (await get("/api/cases?ruleId=over-temperature")).json()) as SupportCase[];
    expect(byRule.map((c) => c.id)).toEqual([b.id]);
    const active = (await (await get("/api/cases?status=active&limit=2")).json()) as SupportCase[];
    expect(active).toHaveLength(2);
    const closed = (await (await get("/api/cases?status=closed")).json()) as SupportCase[];
    expect(closed.every((c) => c.status === "closed")).toBe(true);
  });

  it("answers a bad query with 400 and one line per problem", async () => {
    const res = await get("/api/cases?status=bogus&limit=0&siteId=../etc&extra=1");
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    const lines = error.split("\n");
    expect(lines.length).toBe(4);
    expect(error).toContain("status");
    expect(error).toContain("limit");
    expect(error).toContain("siteId");
    expect(error).toContain("extra");
  });

  it.each([
    "limit=1001",
    "limit=-1",
    "limit=1.5",
    "limit=abc",
    "limit=99999999999999999999",
    "status=open&status=closed",
    "siteId=(10 000 characters)",
    "siteId=%00",
    "ruleId=UPPER",
  ])("refuses the hostile query %s with 400", async (query) => {
    const res = await get(`/api/cases?${query.replace("(10 000 characters)", "x".repeat(10_000))}`);
    expect(res.status).toBe(400);
    expect(typeof ((await res.json()) as { error: string }).error).toBe("string");
  });

  it("GET /api/cases/:id returns one case or 404", async () => {
    const one = await get(`/api/cases/${a.id}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as SupportCase).id).toBe(a.id);
    const missing = await get("/api/cases/no-such-case");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: expect.stringContaining("no case") });
  });

  it("refuses path traversal and odd ids with a clean 4xx", async () => {
    for (const path of [
      "/api/cases/..%2F..%2Fetc%2Fpasswd",
      "/api/cases/%2e%2e",
      "/api/cases/a%00b",
      `/api/cases/${"a".repeat(5000)}`,
      "/api/cases/../../etc/passwd",
    ]) {
      const res = await get(path);
      expect(res.status, path.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(res.status, path.slice(0, 40)).toBeLessThan(500);
      const text = await res.text();
      expect(() => JSON.parse(text)).not.toThrow();
      expect(text).not.toContain("    at ");
    }
  });
});

describe("POST /api/cases/:id/status", () => {
  it("moves a case to closed, tells socket subscribers and publishes on MQTT", async () => {
    const opened = await openCase(h.caseStore, "site-s", "pack-9");
    const seenOnMqtt: CaseEvent[] = [];
    await h.mqtt.subscribeAsync("cases/site-s/#", { qos: 1 });
    h.mqtt.on("message", (topic, payload) => {
      if (topic === "cases/site-s/pack-9") seenOnMqtt.push(JSON.parse(payload.toString()) as CaseEvent);
    });
    const socket = h.socket();
    await connected(socket);
    const events: CaseEvent[] = [];
    socket.on("case", (e: CaseEvent) => events.push(e));
    expect(await emitWithAck(socket, "subscribe", { siteId: "site-s" })).toEqual({ ok: true, room: "site:site-s" });

    const ack = await post(`/api/cases/${opened.id}/status`, JSON.stringify({ status: "acknowledged" }));
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as SupportCase).status).toBe("acknowledged");
    expect((await h.caseStore.get(opened.id))?.status).toBe("acknowledged");

    expect((await post(`/api/cases/${opened.id}/status`, JSON.stringify({ status: "resolved" }))).status).toBe(200);
    const closed = await post(`/api/cases/${opened.id}/status`, JSON.stringify({ status: "closed" }));
    expect(closed.status).toBe(200);
    await waitFor(() => events.length >= 3 && seenOnMqtt.length >= 3, 5000, "case events");
    expect(events.map((e) => [e.type, e.case.status])).toEqual([
      ["updated", "acknowledged"],
      ["updated", "resolved"],
      ["closed", "closed"],
    ]);
    expect(seenOnMqtt.map((e) => e.case.status)).toEqual(["acknowledged", "resolved", "closed"]);
    // The MQTT echo of our own publish is not sent to the socket a second time.
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(3);

    // A closed case stays closed.
    const reopen = await post(`/api/cases/${opened.id}/status`, JSON.stringify({ status: "acknowledged" }));
    expect(reopen.status).toBe(409);
  });

  it("404 for an unknown case", async () => {
    const res = await post("/api/cases/unknown-id/status", JSON.stringify({ status: "closed" }));
    expect(res.status).toBe(404);
  });

  it.each([
    ["invalid JSON", "{not json"],
    ["an empty body", ""],
    ["an unknown status", JSON.stringify({ status: "escalated" })],
    ["a move the process does not allow", JSON.stringify({ status: "closed" })],
    ["a wrong type", JSON.stringify({ status: 1 })],
    ["extra keys", JSON.stringify({ status: "closed", by: "me" })],
    ["an array", JSON.stringify([{ status: "closed" }])],
    ["null", "null"],
    ["a prototype-pollution attempt", '{"status":"closed","__proto__":{"admin":true}}'],
  ])("refuses %s with a clean 4xx", async (_what, body) => {
    const target = await openCase(h.caseStore, "site-h", "pack-h");
    const res = await post(`/api/cases/${target.id}/status`, body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    expect((await h.caseStore.get(target.id))?.status).toBe("open");
  });

  it("refuses a huge body with 413 and a wrong content type with 415", async () => {
    const target = await openCase(h.caseStore, "site-h", "pack-big");
    const huge = await post(`/api/cases/${target.id}/status`, JSON.stringify({ status: "closed", pad: "x".repeat(1_000_000) }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ error: expect.any(String) });
    const xml = await post(`/api/cases/${target.id}/status`, "<status>closed</status>", { ...auth, "content-type": "application/xml" });
    expect(xml.status).toBe(415);
    expect((await h.caseStore.get(target.id))?.status).toBe("open");
    // Still serving.
    expect((await get("/api/cases")).status).toBe(200);
  });

  it("refuses a status change without a token", async () => {
    const target = await openCase(h.caseStore, "site-h", "pack-noauth");
    const res = await post(`/api/cases/${target.id}/status`, JSON.stringify({ status: "closed" }), { "content-type": "application/json" });
    expect(res.status).toBe(401);
    expect((await h.caseStore.get(target.id))?.status).toBe("open");
  });
});

describe("GET /api/packs", () => {
  it("returns the latest sample and meta of each pack", async () => {
    await h.publish("bms/site-p/pack-1/meta", meta({ serial: "SN-P1" }));
    await h.publish("bms/site-p/pack-1/telemetry", sample({ seq: 1, soc: 40 }));
    await h.publish("bms/site-p/pack-1/telemetry", sample({ seq: 2, soc: 41 }));
    await h.publish("bms/site-p/status", { state: "online", ts: Date.now() });
    await waitFor(
      async () => {
        const packs = (await (await get("/api/packs")).json()) as Array<{ packId: string; sample: { soc: number } | null; meta: { serial: string } | null }>;
        const p = packs.find((x) => x.packId === "pack-1");
        return p?.sample?.soc === 41 && p.meta?.serial === "SN-P1";
      },
      5000,
      "the pack in /api/packs",
    );
    const history = (await (await get("/api/packs/site-p/pack-1/history")).json()) as PackHistory;
    expect(history).toMatchObject({ siteId: "site-p", packId: "pack-1" });
    expect(history.points.map((p) => p.soc)).toEqual([40, 41]);
    expect((await get("/api/packs/site-p/nope/history")).status).toBe(404);
    expect((await get("/api/packs/site-p/pack-1/history", {})).status).toBe(401);
  });
});

describe("other routes", () => {
  it("answers unknown routes and methods with a JSON 404", async () => {
    for (const path of ["/nope", "/api/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/public/../src/index.ts"]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    const del = await fetch(`${h.live.url}/api/cases`, { method: "DELETE", headers: auth });
    expect(del.status).toBe(404);
  });

  it("serves the console and the socket.io client", async () => {
    const page = await fetch(`${h.live.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await page.text()).toContain("<title>BMS console</title>");
    const types: Record<string, string> = {
      "/js/main.js": "text/javascript",
      "/js/charts.js": "text/javascript",
      "/js/pack-health.js": "text/javascript",
      "/console.css": "text/css",
      "/favicon.svg": "image/svg+xml",
      "/vendor/uplot/uPlot.esm.js": "text/javascript",
      "/vendor/uplot/uPlot.min.css": "text/css",
      "/socket.io/socket.io.js": "javascript",
    };
    for (const [asset, type] of Object.entries(types)) {
      const res = await fetch(`${h.live.url}${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get("content-type"), asset).toContain(type);
    }
    // Only the files read at start are served: no path reaches the file system.
    for (const path of ["/js/../../package.json", "/js/%2e%2e/%2e%2e/package.json", "/console.js", "/vendor/uplot/package.json"]) {
      expect((await fetch(`${h.live.url}${path}`)).status, path).toBe(404);
    }
  });
});
