import { describe, expect, it } from "vitest";
import { PointWindow } from "../src/rules/point-window";

const points = (w: PointWindow) => Array.from({ length: w.length }, (_, i) => [w.tsAt(i), w.valueAt(i)]);

describe("a sliding window of points", () => {
  it("keeps points in time order and drops the older ones from the front", () => {
    const w = new PointWindow();
    for (let t = 0; t < 5; t++) w.push(t * 1000, t / 10);
    w.dropBefore(2000);
    expect(points(w)).toEqual([
      [2000, 0.2],
      [3000, 0.3],
      [4000, 0.4],
    ]);
    w.dropBefore(10_000);
    expect(w.length).toBe(0);
    w.push(11_000, 1);
    expect(points(w)).toEqual([[11_000, 1]]);
  });

  it("stays in order as the ring wraps, grows past its first size and shrinks again", () => {
    const w = new PointWindow();
    const kept: number[][] = [];
    // A window of 40 points, then of 3000 (a faster stream), then of 5 again.
    for (let t = 0; t < 10_000; t++) {
      const span = t < 2000 ? 40 : t < 7000 ? 3000 : 5;
      w.push(t, t * 2);
      kept.push([t, t * 2]);
      w.dropBefore(t - span + 1);
      while (((kept[0] as number[])[0] as number) < t - span + 1) kept.shift();
      if (t % 997 === 0 || t === 9999) expect(points(w)).toEqual(kept);
    }
    expect(w.length).toBe(5);
  });

  it("finds the first point at or after a time, and after it, as a scan would, also across the ring's wrap", () => {
    const w = new PointWindow();
    // Times with repeats, so that "at or after" and "after" differ; dropped at the front so the ring wraps.
    for (let i = 0; i < 300; i++) {
      w.push(Math.floor(i / 3) * 10, i);
      w.dropBefore(Math.floor(i / 3) * 10 - 400);
      if (i % 7 !== 0) continue;
      const times = Array.from({ length: w.length }, (_, k) => w.tsAt(k));
      for (const t of [-1, (times[0] as number) - 5, ...times, (times.at(-1) as number) + 3, 5, 995, 1e9]) {
        expect(w.firstAtOrAfter(t)).toBe(times.findIndex((x) => x >= t) === -1 ? times.length : times.findIndex((x) => x >= t));
        expect(w.firstAfter(t)).toBe(times.findIndex((x) => x > t) === -1 ? times.length : times.findIndex((x) => x > t));
      }
    }
  });

  it("ignores a point older than its newest (a lane's samples come in time order)", () => {
    const w = new PointWindow();
    w.push(1000, 1);
    w.push(2000, 2);
    w.push(1500, 9);
    w.push(2000, 3);
    expect(points(w)).toEqual([
      [1000, 1],
      [2000, 2],
      [2000, 3],
    ]);
  });
});
