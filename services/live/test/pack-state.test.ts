import { describe, expect, it } from "vitest";
import { PackState } from "../src/pack-state";
import { meta, sample } from "./live-harness";

describe("PackState", () => {
  it("keeps the newest sample as latest even when older ones arrive late (outbox replay)", () => {
    const state = new PackState({ historyPerPack: 10, maxPacks: 10 });
    const t = Date.now();
    expect(state.addSample("s", "p", sample({ ts: t, seq: 5 }), t)).toBe("latest");
    expect(state.addSample("s", "p", sample({ ts: t - 2000, seq: 3 }), t)).toBe("history");
    expect(state.addSample("s", "p", sample({ ts: t - 1000, seq: 4 }), t)).toBe("history");
    expect(state.latestSamples("s")).toMatchObject([{ seq: 5, siteId: "s", packId: "p" }]);
    expect(state.history("s", "p")?.map((x) => x.seq)).toEqual([3, 4, 5]);
  });

  it("ignores an exact duplicate (QoS 1 redelivery)", () => {
    const state = new PackState({ historyPerPack: 10, maxPacks: 10 });
    const s = sample({ seq: 1 });
    expect(state.addSample("s", "p", s, 0)).toBe("latest");
    expect(state.addSample("s", "p", { ...s }, 0)).toBe("duplicate");
    expect(state.history("s", "p")).toHaveLength(1);
  });

  it("bounds the history per pack, dropping the oldest", () => {
    const state = new PackState({ historyPerPack: 3, maxPacks: 10 });
    const t = Date.now();
    for (let i = 0; i < 10; i++) state.addSample("s", "p", sample({ ts: t + i, seq: i }), t);
    expect(state.history("s", "p")?.map((x) => x.seq)).toEqual([7, 8, 9]);
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
    expect(
      state
        .latestSamples("s1")
        .map((x) => x.soc)
        .sort(),
    ).toEqual([1, 2]);
    expect(state.latestSamples("s1", "b").map((x) => x.soc)).toEqual([2]);
    expect(state.latestSamples("nope")).toEqual([]);
    const views = state.views();
    expect(views.map((v) => `${v.siteId}/${v.packId}`)).toEqual(["s1/a", "s1/b", "s2/a"]);
    expect(views[0]).toMatchObject({ meta: { serial: "X" }, siteStatus: { state: "offline" }, receivedAt: 100 });
    expect(views[2]?.siteStatus).toBeNull();
  });
});
