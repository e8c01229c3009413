import { describe, expect, it } from "vitest";
import { PackHistory } from "../src/pack-history";
import { PackState } from "../src/pack-state";
import { meta, sample } from "./live-harness";

describe("PackState", () => {
  it("keeps the newest sample as latest even when older ones arrive late (outbox replay)", () => {
    const state = new PackState({ historyPerPack: 10, maxPacks: 10 });
    const t = Date.now();
    expect(state.addSample("s", "p", sample({ ts: t, seq: 5 }), t)).toBe("latest");
    expect(state.addSample("s", "p", sample({ ts: t - 2000, seq: 3 }), t)).toBe("history");
    expect(state.addSample("s", "p", sample({ ts: t - 1000, seq: 4 }), t)).toBe("history");
    expect([...state.latestSamples("s")]).toMatchObject([{ seq: 5, siteId: "s", packId: "p" }]);
    expect(state.history("s", "p", 0, Infinity)?.map((x) => x.ts)).toEqual([t - 2000, t - 1000, t]);
  });

  it("ignores an exact duplicate (QoS 1 redelivery)", () => {
    const state = new PackState({ historyPerPack: 10, maxPacks: 10 });
    const s = sample({ seq: 1 });
    expect(state.addSample("s", "p", s, 0)).toBe("latest");
    expect(state.addSample("s", "p", { ...s }, 0)).toBe("duplicate");
    expect(state.history("s", "p", 0, Infinity)).toHaveLength(1);
  });

  it("bounds the history per pack, dropping the oldest", () => {
    const state = new PackState({ historyPerPack: 3, maxPacks: 10 });
    const t = Date.now();
    for (let i = 0; i < 10; i++) state.addSample("s", "p", sample({ ts: t + i, seq: i }), t);
    expect(state.history("s", "p", 0, Infinity)?.map((x) => x.ts)).toEqual([t + 7, t + 8, t + 9]);
    // A late sample older than everything kept has no place in a full history.
    expect(state.addSample("s", "p", sample({ ts: t - 1, seq: 100 }), t)).toBe("history");
    expect(state.history("s", "p", 0, Infinity)?.map((x) => x.ts)).toEqual([t + 7, t + 8, t + 9]);
    // One in the middle pushes the oldest out.
    state.addSample("s", "p", sample({ ts: t + 8.5, seq: 101 }), t);
    expect(state.history("s", "p", 0, Infinity)?.map((x) => x.ts)).toEqual([t + 8, t + 8.5, t + 9]);
  });

  it("bounds the number of packs", () => {
    const state = new PackState({ historyPerPack: 3, maxPacks: 2 });
    expect(state.addSample("s", "a", sample(), 0)).toBe("latest");
    expect(state.setMeta("s", "b", meta())).toBe(true);
    expect(state.addSample("s", "c", sample(), 0)).toBe("pack-limit");
    expect(state.setMeta("s", "d", meta())).toBe(false);
    // Known packs still update.
    expect(state.addSample("s", "b", sample(), 0)).toBe("latest");
    expect(state.packCount).toBe(2);
  });

  it("filters latest samples by site and pack, and lists views with meta and site status", () => {
    const state = new PackState({ historyPerPack: 3, maxPacks: 10 });
    state.addSample("s1", "a", sample({ soc: 1 }), 100);
    state.addSample("s1", "b", sample({ soc: 2 }), 100);
    state.addSample("s2", "a", sample({ soc: 3 }), 100);
    state.setMeta("s1", "a", meta({ serial: "X" }));
    state.setSiteStatus("s1", { state: "offline", ts: Date.now() });
    expect([...state.latestSamples("s1")].map((x) => x.soc).sort()).toEqual([1, 2]);
    expect([...state.latestSamples("s1", "b")].map((x) => x.soc)).toEqual([2]);
    expect([...state.latestSamples("s1", "nope")]).toEqual([]);
    expect([...state.latestSamples("nope")]).toEqual([]);
    const views = state.views();
    expect(views.map((v) => `${v.siteId}/${v.packId}`)).toEqual(["s1/a", "s1/b", "s2/a"]);
    expect(views[0]).toMatchObject({ meta: { serial: "X" }, siteStatus: { state: "offline" }, receivedAt: 100 });
    expect(views[2]?.siteStatus).toBeNull();
    expect(state.views((siteId) => siteId === "s2").map((v) => `${v.siteId}/${v.packId}`)).toEqual(["s2/a"]);
  });

  it("keeps the charted fields of each sample, read back as they were sent, between from and to", () => {
    const state = new PackState({ historyPerPack: 600, maxPacks: 10 });
    const t = 1_800_000_000_000;
    state.addSample(
      "s",
      "p",
      sample({ ts: t, soc: 76.5, packVoltage: 51.2, current: -12.5, cellVoltages: [3.215, 3.2, 3.301], cellTemperatures: [24.5, 26.1] }),
      t,
    );
    state.addSample("s", "p", sample({ ts: t + 1000, seq: 2, cellVoltages: [], cellTemperatures: [] }), t);
    expect(state.history("s", "p", t, t)).toEqual([
      { ts: t, soc: 76.5, packVoltage: 51.2, current: -12.5, cellVoltageMin: 3.2, cellVoltageMax: 3.301, temperatureMin: 24.5, temperatureMax: 26.1 },
    ]);
    // A pack that reports no cells (Pylontech CAN) has no cell values, not zeros.
    expect(state.history("s", "p", t + 1, t + 1000)).toMatchObject([
      { cellVoltageMin: null, cellVoltageMax: null, temperatureMin: null, temperatureMax: null },
    ]);
    expect(state.history("s", "p", t + 2000, t + 3000)).toEqual([]);
    expect(state.history("s", "other", 0, Infinity)).toBeNull();
  });

  it("holds a full history in a fixed ring: in-order and late samples alike, never more than its capacity", () => {
    const history = new PackHistory(5);
    const t = 1_800_000_000_000;
    const order = [3, 1, 4, 0, 5, 9, 2, 6, 8, 7, 10, 11];
    for (const i of order) history.insert(sample({ ts: t + i * 1000, seq: i, soc: i }));
    expect(history.size).toBe(5);
    expect(history.points(0, Infinity).map((p) => p.soc)).toEqual([7, 8, 9, 10, 11]);
    expect(history.insert(sample({ ts: t + 11_000, seq: 11, soc: 11 }))).toBe("duplicate");
    expect(history.insert(sample({ ts: t, seq: 0 }))).toBe("too-old");
  });
});
