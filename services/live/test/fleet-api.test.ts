import type { FleetAnswer } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCase, type Harness, meta, openCase, SITE1_TOKEN, sample, startHarness, TOKEN, VIEWER_TOKEN } from "./live-harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function fleet(query = "", token = TOKEN): Promise<{ status: number; body: FleetAnswer & { error?: string } }> {
  const res = await fetch(`${h.live.url}/api/fleet${query ? `?${query}` : ""}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as FleetAnswer & { error?: string } };
}

describe("GET /api/fleet", () => {
  it("ranks the packs a viewer sees by urgency and follows case events as they come", async () => {
    await h.publish("bms/site-1/pack-1/meta", meta({ serial: "SN-FIND-ME" }));
    await h.publish("bms/site-1/pack-1/telemetry", sample({ seq: 1 }));
    await h.publish("bms/site-1/pack-2/telemetry", sample({ seq: 1 }));
    await h.publish("bms/site-2/pack-1/telemetry", sample({ seq: 1, bmsAlarms: ["OVER_TEMP_WARNING"] }));
    await h.publish("bms/site-3/status", { state: "offline", ts: Date.now() - 1000 });
    await h.publish("bms/site-3/pack-1/telemetry", sample({ seq: 1 }));
    await expect.poll(async () => (await fleet("", VIEWER_TOKEN)).body.total, { timeout: 10_000 }).toBe(4);
    expect((await fleet()).body.packs.map((p) => `${p.state}:${p.siteId}/${p.packId}`)).toEqual([
      "warning:site-2/pack-1",
      "offline:site-3/pack-1",
      "healthy:site-1/pack-1",
      "healthy:site-1/pack-2",
    ]);

    // A case opened by the ingestion reaches the live service as an event on MQTT.
    const opened = await openCase(h.caseStore, "site-1", "pack-2", "over-temperature", { severity: "critical" });
    await h.publish("cases/site-1/pack-2", { type: "opened", case: opened });
    await expect.poll(async () => (await fleet()).body.packs[0]?.packId, { timeout: 10_000 }).toBe("pack-2");
    const { body } = await fleet();
    expect(body.packs[0]).toMatchObject({ siteId: "site-1", state: "critical", worstSeverity: "critical", activeCases: 1 });
    expect(body.counts).toEqual({ critical: 1, warning: 1, offline: 1, healthy: 1 });
    expect(body.sites.map((s) => `${s.state}:${s.siteId}`)).toEqual(["critical:site-1", "warning:site-2", "offline:site-3"]);
    expect(body.sites.find((s) => s.siteId === "site-3")?.agent.state).toBe("offline");

    // An engineer resolving it through this service takes the pack out of the critical list at once.
    for (const status of ["acknowledged", "resolved"]) {
      const res = await fetch(`${h.live.url}/api/cases/${opened.id}/status`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ status }),
      });
      expect(res.status).toBe(200);
    }
    expect((await fleet("state=critical")).body.packs).toEqual([]);
    await closeCase(h.caseStore, opened.id);
  });

  it("searches by serial and filters by state", async () => {
    await expect.poll(async () => (await fleet("q=find-me")).body.packs.map((p) => p.packId), { timeout: 10_000 }).toEqual(["pack-1"]);
    expect((await fleet("q=site-2")).body.sites.map((s) => s.siteId)).toEqual(["site-2"]);
    expect((await fleet("state=offline")).body.packs.map((p) => p.siteId)).toEqual(["site-3"]);
    const paged = await fleet("limit=1&offset=1");
    expect(paged.body.packs).toHaveLength(1);
    expect(paged.body.offset).toBe(1);
  });

  it("shows a site-scoped token its own sites only, counts included", async () => {
    const { body } = await fleet("", SITE1_TOKEN);
    expect(body.packs.every((p) => p.siteId === "site-1")).toBe(true);
    expect(body.sites.map((s) => s.siteId)).toEqual(["site-1"]);
    expect(body.total).toBe(2);
  });

  it("refuses bad queries with 400 naming the field, and no token with 401", async () => {
    for (const query of ["state=burning", "limit=0", "limit=501", "offset=-1", "offset=1e3", "siteLimit=1001", `q=${"x".repeat(101)}`, "sort=name"]) {
      const { status, body } = await fleet(query);
      expect(status, query).toBe(400);
      expect(body.error, query).toBeTruthy();
    }
    expect((await fetch(`${h.live.url}/api/fleet`)).status).toBe(401);
  });
});
