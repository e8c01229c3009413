import { ConfigError, SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { describe, expect, it, onTestFinished } from "vitest";
import { FAULT_KINDS } from "../src/faults";
import { buildFleet, serveFleet } from "../src/fleet/fleet";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";

describe("buildFleet", () => {
  it("gives the same manifest for the same seed and another for another seed", () => {
    const a = buildFleet({ sites: 5, packsPerSite: 6, faultyFraction: 0.3, seed: 42, durationS: 900 });
    const b = buildFleet({ sites: 5, packsPerSite: 6, faultyFraction: 0.3, seed: 42, durationS: 900 });
    expect(a.manifest).toEqual(b.manifest);
    expect(buildFleet({ sites: 5, packsPerSite: 6, faultyFraction: 0.3, seed: 43, durationS: 900 }).manifest).not.toEqual(a.manifest);
    // The packs themselves repeat too.
    expect(a.sites[2]?.runner.pack(3).identity).toEqual(b.sites[2]?.runner.pack(3).identity);
  });

  it.each([
    [0, 0],
    [0.2, 6],
    [0.5, 15],
    [1, 30],
  ])("carries faults on round(%d × packs) packs, each a library fault at a time inside the run", (fraction, expected) => {
    const { manifest, sites } = buildFleet({ sites: 5, packsPerSite: 6, faultyFraction: fraction, seed: 7, durationS: 1000 });
    const faulty = manifest.sites.flatMap((site) => site.packs.filter((pack) => pack.fault));
    expect(manifest.totalPacks).toBe(30);
    expect(manifest.faultyPacks).toBe(expected);
    expect(faulty).toHaveLength(expected);
    for (const pack of faulty) {
      expect(FAULT_KINDS).toContain(pack.fault?.kind);
      expect(pack.fault?.atS).toBeGreaterThanOrEqual(100);
      expect(pack.fault?.atS).toBeLessThanOrEqual(600);
      expect(pack.fault?.expects.ruleId).not.toBe("none");
    }
    // The runners carry exactly the manifest's faults.
    expect(sites.reduce((n, site) => n + site.scenario.faults.length, 0)).toBe(expected);
  });

  it("rejects bad options with one line per problem", () => {
    expect(() => buildFleet({ sites: 0, packsPerSite: 300, faultyFraction: 2 })).toThrow(ConfigError);
    try {
      buildFleet({ sites: 0, packsPerSite: 300, faultyFraction: 2 });
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(3);
    }
  });
});

describe("serveFleet", () => {
  it("serves a 3 × 4 fleet: one Modbus TCP port per site, unit IDs 1–4 on each, faults running", async () => {
    const fleet = buildFleet({ sites: 3, packsPerSite: 4, faultyFraction: 0.25, seed: 3, durationS: 60 });
    const running = await serveFleet(fleet, { host: "127.0.0.1", basePort: 0, timeScale: 50 });
    onTestFinished(() => running.close());
    const ports = running.manifest.sites.map((site) => site.port);
    expect(new Set(ports).size).toBe(3);
    for (const site of running.manifest.sites) {
      const client = await connectClient(site.port ?? 0);
      try {
        for (const unit of [1, 2, 3, 4]) {
          const device = fleet.sites.find((s) => s.siteId === site.siteId)?.runner.pack(unit);
          // A pack silenced by a communication-loss fault is part of the plan: skip it.
          if (device?.link().kind !== "ok") continue;
          expect(await readRegisters(client, unit, SUNSPEC_BASE_ADDRESS, 2)).toEqual([0x5375, 0x6e53]);
        }
      } finally {
        await closeClient(client);
      }
    }
    expect(running.manifest.faultyPacks).toBe(3);
  });
});
