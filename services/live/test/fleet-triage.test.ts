import { FLEET_OFFLINE_AFTER_MS, type PackSample, SITE_PACK_ID, type SiteStatus } from "@bms/shared";
import { describe, expect, it } from "vitest";
import type { CaseSummary } from "../src/case-index";
import { type FleetQuery, triage } from "../src/fleet-triage";
import type { PackEntry } from "../src/pack-state";
import { meta, sample } from "./live-harness";

const NOW = Date.now();
const page: FleetQuery = { offset: 0, limit: 100, siteLimit: 50 };

function pack(siteId: string, packId: string, over: Partial<PackSample> = {}, receivedAt: number | null = NOW - 1000, serial = `SN-${packId}`): PackEntry {
  return { siteId, packId, latest: receivedAt === null ? null : sample(over), receivedAt, meta: meta({ serial }), history: null };
}

let caseNo = 0;
const kase = (siteId: string, packId: string, severity: CaseSummary["severity"], status: CaseSummary["status"] = "open"): CaseSummary => ({
  id: `c${++caseNo}`,
  siteId,
  packId,
  severity,
  status,
  updatedAt: NOW,
});

const online = (over: Partial<SiteStatus> = {}): SiteStatus => ({ state: "online", ts: NOW - 500, ...over });

describe("fleet triage", () => {
  const packs = [
    pack("site-a", "healthy-1"),
    pack("site-a", "major-1"),
    pack("site-b", "minor-1"),
    pack("site-b", "codes-1", { bmsAlarms: ["OVER_TEMP_WARNING"] }),
    pack("site-c", "quiet-1", {}, NOW - FLEET_OFFLINE_AFTER_MS - 1),
    pack("site-d", "agent-down-1"),
    pack("site-a", "critical-1"),
  ];
  const cases = [
    kase("site-a", "major-1", "major"),
    kase("site-b", "minor-1", "minor"),
    kase("site-a", "critical-1", "critical"),
    kase("site-a", "critical-1", "warning"),
  ];
  const statuses: [string, SiteStatus][] = [
    ["site-a", online()],
    ["site-d", { state: "offline", ts: NOW - 60_000 }],
  ];
  const run = (query: Partial<FleetQuery> = {}) => triage({ packs, statuses, cases, now: NOW }, { ...page, ...query });

  it("sorts by urgency: critical and major cases, then warnings (cases or BMS codes), then offline, then healthy", () => {
    const answer = run();
    expect(answer.packs.map((p) => `${p.state}:${p.packId}`)).toEqual([
      "critical:critical-1",
      "critical:major-1",
      "warning:minor-1",
      "warning:codes-1",
      "offline:quiet-1",
      "offline:agent-down-1",
      "healthy:healthy-1",
    ]);
    expect(answer.counts).toEqual({ critical: 2, warning: 2, offline: 2, healthy: 1 });
    expect(answer.total).toBe(7);
    const critical = answer.packs[0];
    expect(critical).toMatchObject({ worstSeverity: "critical", activeCases: 2, serial: "SN-critical-1", offline: false });
    expect(critical?.cellVoltageMin).toBeCloseTo(3.2, 6);
    expect(critical?.cellVoltageMax).toBeCloseTo(3.215, 6);
  });

  it("counts only cases being worked: resolved and closed cases set no state", () => {
    const answer = triage(
      { packs: [pack("s", "p")], statuses: [], cases: [kase("s", "p", "critical", "resolved"), kase("s", "p", "critical", "closed")], now: NOW },
      page,
    );
    expect(answer.packs[0]?.state).toBe("healthy");
  });

  it("finds packs by site, pack, serial or model, case-insensitively, and filters by state; counts stay those of the whole fleet", () => {
    expect(run({ q: "SITE-B" }).packs.map((p) => p.packId)).toEqual(["minor-1", "codes-1"]);
    expect(run({ q: "sn-quiet" }).packs.map((p) => p.packId)).toEqual(["quiet-1"]);
    expect(run({ q: "lfp-48" }).matched).toBe(7);
    const warnings = run({ state: "warning" });
    expect(warnings.packs.map((p) => p.packId)).toEqual(["minor-1", "codes-1"]);
    expect(warnings.matched).toBe(2);
    expect(warnings.counts.healthy).toBe(1);
    expect(run({ q: "no such thing" }).packs).toEqual([]);
  });

  it("pages", () => {
    const first = run({ limit: 4 });
    const second = run({ offset: 4, limit: 4 });
    expect(first.packs).toHaveLength(4);
    expect(second.packs.map((p) => p.packId)).toEqual(["quiet-1", "agent-down-1", "healthy-1"]);
    expect(second.matched).toBe(7);
    expect(run({ offset: 100 }).packs).toEqual([]);
  });

  it("lists sites by urgency with the agent's link health: queue, last contact, failing devices", () => {
    const withAgent: [string, SiteStatus][] = [
      [
        "site-a",
        online({
          agent: {
            queueDepth: 42,
            oldestQueuedTs: NOW - 30_000,
            published: 10,
            dropped: 0,
            devices: [
              { packId: "healthy-1", state: "ok", polls: 10, errors: 0, implausible: 0 },
              { packId: "major-1", state: "failing", polls: 10, errors: 4, implausible: 0, lastError: "timeout after 1000 ms" },
            ],
          },
        }),
      ],
      ["site-d", { state: "offline", ts: NOW - 60_000 }],
      ["site-empty", online()],
    ];
    const answer = triage({ packs, statuses: withAgent, cases, now: NOW }, page);
    expect(answer.sites.map((s) => `${s.state}:${s.siteId}`)).toEqual([
      "critical:site-a",
      "warning:site-b",
      "offline:site-c",
      "offline:site-d",
      "healthy:site-empty",
    ]);
    const a = answer.sites[0];
    expect(a?.agent).toMatchObject({
      state: "online",
      queueDepth: 42,
      oldestQueuedTs: NOW - 30_000,
      failingDevices: [{ packId: "major-1", lastError: "timeout after 1000 ms" }],
    });
    expect(a?.counts).toEqual({ critical: 2, warning: 0, offline: 0, healthy: 1 });
    // Last contact: the newest of the status and the samples received.
    expect(a?.agent.lastContact).toBe(NOW - 500);
    expect(answer.sites.find((s) => s.siteId === "site-b")?.agent).toMatchObject({ state: "unknown", lastContact: NOW - 1000, queueDepth: null });
    expect(answer.siteCount).toBe(5);
    expect(triage({ packs, statuses: withAgent, cases, now: NOW }, { ...page, siteLimit: 2 }).sites).toHaveLength(2);
  });

  it("lists a pack that has a case but no data in memory, and files a site's own case (site offline) on the site", () => {
    const answer = triage(
      {
        packs: [],
        statuses: [["site-x", { state: "offline", ts: NOW - 1000 }]],
        cases: [kase("site-x", "pack-9", "major"), kase("site-x", SITE_PACK_ID, "critical")],
        now: NOW,
      },
      page,
    );
    expect(answer.packs.map((p) => [p.packId, p.state, p.offline, p.soc])).toEqual([["pack-9", "critical", true, null]]);
    expect(answer.sites[0]).toMatchObject({ siteId: "site-x", state: "critical", packs: 1 });
  });

  it("reads a pack without cells or sensors (CAN) and one with only its identity", () => {
    const answer = triage(
      { packs: [pack("s", "can", { cellVoltages: [], cellTemperatures: [] }), pack("s", "meta-only", {}, null)], statuses: [], cases: [], now: NOW },
      page,
    );
    expect(answer.packs.find((p) => p.packId === "can")).toMatchObject({ cellVoltageMin: null, temperatureMax: null, state: "healthy" });
    expect(answer.packs.find((p) => p.packId === "meta-only")).toMatchObject({ soc: null, receivedAt: null, state: "offline", offline: true });
  });
});
