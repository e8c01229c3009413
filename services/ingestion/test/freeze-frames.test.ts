import type { PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { FreezeFrames } from "../src/rules/freeze-frames";

const T0 = 1_700_000_000_000;
const sample = (seq: number, ts: number): PackSample => ({ v: 1, ts, seq, packVoltage: 52, current: 0, soc: 50, cellVoltages: [3.3], cellTemperatures: [25] });

/** Feeds `count` samples `stepMs` apart; the samples fed. */
function feed(frames: FreezeFrames, count: number, stepMs: number, keepMs: number, keepMax: number): PackSample[] {
  const fed: PackSample[] = [];
  for (let i = 0; i < count; i++) {
    const s = sample(i + 1, T0 + i * stepMs);
    frames.add(s, keepMs, keepMax);
    fed.push(s);
  }
  return fed;
}

describe("freeze frames: the ring a trigger's before-side is cut from", () => {
  it("keeps every sample of the window at 1 Hz with the defaults (120 s, 240 samples)", () => {
    const frames = new FreezeFrames();
    const fed = feed(frames, 300, 1000, 120_000, 240);
    const last = fed[fed.length - 1] as PackSample;
    expect(frames.before(last.ts, 120_000, 240).map((s) => s.seq)).toEqual(fed.filter((s) => s.ts >= last.ts - 120_000).map((s) => s.seq));
  });

  it("holds about keepMax samples over the window at 50 Hz, spread over all of it, the newest included", () => {
    const frames = new FreezeFrames();
    const fed = feed(frames, 50 * 150, 20, 120_000, 240);
    const last = fed[fed.length - 1] as PackSample;
    // Everything the ring holds, unthinned.
    const held = frames.before(last.ts, 120_000, 1_000_000);
    expect(held.length).toBeGreaterThanOrEqual(240);
    expect(held.length).toBeLessThanOrEqual(2 * 240 + 2);
    expect(held[held.length - 1]).toBe(last);
    expect(frames.latest()).toBe(last);
    expect((held[0] as PackSample).ts).toBeLessThan(last.ts - 119_000);
    // No gap wider than two spacings (500 ms each) between kept samples.
    for (let i = 1; i < held.length; i++) expect((held[i] as PackSample).ts - (held[i - 1] as PackSample).ts).toBeLessThanOrEqual(1000);
    expect(frames.before(last.ts, 120_000, 240)).toHaveLength(240);
  });

  it("gives each open collector the samples after its trigger, up to its window's end", () => {
    const frames = new FreezeFrames();
    feed(frames, 10, 1000, 120_000, 240);
    frames.start({ firingKey: "k", triggerTs: T0 + 9000, until: T0 + 12_000, max: 10, samples: [] });
    expect(frames.add(sample(11, T0 + 10_000), 120_000, 240)).toEqual([]);
    expect(frames.add(sample(12, T0 + 11_000), 120_000, 240)).toEqual([]);
    const [done] = frames.add(sample(13, T0 + 12_000), 120_000, 240);
    expect(done?.samples.map((s) => s.seq)).toEqual([11, 12, 13]);
  });
});
