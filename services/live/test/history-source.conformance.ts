import type { PackHistoryPoint, PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { bucketSizeFor, downsample } from "../src/history/downsampling";
import type { HistoryRequest, HistorySource } from "../src/history/history-source";

/** What a history source's test gives the suite: the source, and how samples reach the store it reads. */
export interface HistoryFixture {
  source: HistorySource;
  /** Writes samples of one pack the way they reach the store in production (line protocol, or the live feed). */
  write(siteId: string, packId: string, samples: readonly PackSample[]): Promise<void>;
}

/** A window in the past, so that every source shows all of it (well before VictoriaMetrics' latency offset). */
const HOUR = 3_600_000;
const BASE = Math.floor((Date.now() - 6 * HOUR) / HOUR) * HOUR;

/** A sample at `ts` whose values say where it is (`i`), with 3-decimal values every store keeps exactly. */
export function historySample(ts: number, i: number, over: Partial<PackSample> = {}): PackSample {
  const wave = (period: number, amplitude: number) => Math.round(Math.sin(i / period) * amplitude * 1000) / 1000;
  return {
    v: 1,
    ts,
    seq: i,
    packVoltage: Math.round((51.2 + wave(7, 0.8)) * 1000) / 1000,
    current: Math.round((-20 + wave(5, 15)) * 1000) / 1000,
    soc: Math.round((60 + wave(11, 20)) * 1000) / 1000,
    cellVoltages: [3.2 + wave(3, 0.05), 3.21, 3.19 - (i % 13) / 1000, 3.205].map((v) => Math.round(v * 1000) / 1000),
    cellTemperatures: [25 + (i % 17), 24.5, 26 + wave(9, 3)].map((v) => Math.round(v * 1000) / 1000),
    ...over,
  };
}

/** The point a sample must read back as. */
export function pointOf(s: PackSample): PackHistoryPoint {
  const has = (values: readonly number[]) => values.length > 0;
  return {
    ts: s.ts,
    soc: s.soc,
    packVoltage: s.packVoltage,
    current: s.current,
    cellVoltageMin: has(s.cellVoltages) ? Math.min(...s.cellVoltages) : null,
    cellVoltageMax: has(s.cellVoltages) ? Math.max(...s.cellVoltages) : null,
    temperatureMin: has(s.cellTemperatures) ? Math.min(...s.cellTemperatures) : null,
    temperatureMax: has(s.cellTemperatures) ? Math.max(...s.cellTemperatures) : null,
  };
}

function expectPoints(actual: readonly PackHistoryPoint[], expected: readonly PackHistoryPoint[]): void {
  expect(actual.map((p) => p.ts)).toEqual(expected.map((p) => p.ts));
  actual.forEach((p, i) => {
    const e = expected[i] as PackHistoryPoint;
    for (const key of ["soc", "packVoltage", "current", "cellVoltageMin", "cellVoltageMax", "temperatureMin", "temperatureMax"] as const) {
      const a = p[key];
      const b = e[key];
      if (b === null) expect(a, `${key} at ${p.ts}`).toBeNull();
      else expect(a, `${key} at ${p.ts}`).toBeCloseTo(b, 4);
    }
  });
}

const series = (from: number, count: number, stepMs: number, start = 0) => Array.from({ length: count }, (_, i) => historySample(from + i * stepMs, start + i));

/**
 * The behaviour every HistorySource must have (the live service's pack history): samples read back
 * as written while they fit the point budget, and otherwise downsampled exactly as downsample()
 * says (bucket sizes, alignment, mean/min/max per field), whichever server does the work.
 * `fixture` gives what the test file started (in its beforeAll); each test writes packs of its own.
 */
export function describeHistorySource(name: string, fixture: () => HistoryFixture): void {
  describe(`HistorySource conformance: ${name}`, () => {
    const get = async () => fixture();
    let packNo = 0;
    const nextPack = () => `pack-${++packNo}`;
    const read = async (request: Omit<HistoryRequest, "siteId"> & { siteId?: string }) => (await get()).source.read({ siteId: "site-h", ...request });

    it("reads the samples of a window back as written, oldest first, when they fit the point budget", async () => {
      const f = await get();
      const packId = nextPack();
      const samples = series(BASE, 120, 1000);
      await f.write("site-h", packId, samples);
      const answer = await read({ packId, from: BASE, to: BASE + 200_000, maxPoints: 1000 });
      expect(answer.resolutionMs).toBeNull();
      expectPoints(answer.points, samples.map(pointOf));
    });

    it("includes both ends of the window and nothing outside it", async () => {
      const f = await get();
      const packId = nextPack();
      const samples = series(BASE, 60, 1000);
      await f.write("site-h", packId, samples);
      const answer = await read({ packId, from: BASE + 10_000, to: BASE + 20_000, maxPoints: 1000 });
      expectPoints(answer.points, samples.slice(10, 21).map(pointOf));
      // A window that holds exactly the budget is still read as it is.
      const exact = await read({ packId, from: BASE + 10_000, to: BASE + 20_000, maxPoints: 11 });
      expect(exact.resolutionMs).toBeNull();
      expect(exact.points).toHaveLength(11);
    });

    it("keeps packs and sites apart (same pack ID on two sites, two packs on one site)", async () => {
      const f = await get();
      const packId = nextPack();
      await f.write("site-h", packId, series(BASE, 10, 1000));
      await f.write("site-other", packId, series(BASE, 10, 1000, 500));
      await f.write("site-h", `${packId}-b`, series(BASE + 500, 10, 1000, 900));
      const answer = await read({ packId, from: BASE, to: BASE + 60_000, maxPoints: 100 });
      expect(answer.points.map((p) => p.ts)).toEqual(series(BASE, 10, 1000).map((s) => s.ts));
      expectPoints(answer.points, series(BASE, 10, 1000).map(pointOf));
    });

    it("downsamples a window with more samples than the budget: aligned buckets, mean of SOC/voltage/current, min and max of the cell statistics", async () => {
      const f = await get();
      const packId = nextPack();
      // 900 samples at 1 Hz, starting mid-bucket; 60 points allowed.
      const from = BASE + 7_300;
      const samples = series(from, 900, 1000);
      await f.write("site-h", packId, samples);
      const to = from + 899_000;
      const answer = await read({ packId, from, to, maxPoints: 60 });
      const size = bucketSizeFor(from, to, 60);
      expect(size).toBe(30_000);
      expect(answer.resolutionMs).toBe(size);
      expect(answer.points.length).toBeLessThanOrEqual(60);
      for (const p of answer.points) expect(p.ts % size).toBe(0);
      expectPoints(answer.points, downsample(samples.map(pointOf), size));
      // The extremes survive: the hottest sample's temperature is the hottest point's.
      const hottest = Math.max(...samples.map((s) => Math.max(...s.cellTemperatures)));
      expect(Math.max(...answer.points.map((p) => p.temperatureMax ?? 0))).toBeCloseTo(hottest, 4);
    });

    it("leaves gaps empty and reads a pack that reports no cells (a CAN BMS) with null cell statistics", async () => {
      const f = await get();
      const packId = nextPack();
      const before = series(BASE, 300, 1000);
      const after = series(BASE + 1_200_000, 300, 1000, 300).map((s) => ({ ...s, cellVoltages: [], cellTemperatures: [] }));
      await f.write("site-h", packId, [...before, ...after]);
      const answer = await read({ packId, from: BASE, to: BASE + 1_500_000, maxPoints: 100 });
      const size = answer.resolutionMs ?? 0;
      expect(size).toBe(bucketSizeFor(BASE, BASE + 1_500_000, 100));
      expectPoints(answer.points, downsample([...before, ...after].map(pointOf), size));
      expect(answer.points.some((p) => p.ts > BASE + 300_000 && p.ts < BASE + 1_200_000 - size)).toBe(false);
      expect(answer.points.at(-1)?.cellVoltageMin).toBeNull();
      expect(answer.points.at(-1)?.temperatureMax).toBeNull();
    });

    it("downsamples up to now, the newest samples included", async () => {
      const f = await get();
      const packId = nextPack();
      const now = Date.now();
      const from = now - 300_000;
      const samples = series(from, 300, 1000);
      await f.write("site-h", packId, samples);
      const answer = await read({ packId, from, to: now, maxPoints: 30 });
      const size = bucketSizeFor(from, now, 30);
      expect(answer.resolutionMs).toBe(size);
      expectPoints(answer.points, downsample(samples.map(pointOf), size));
    });

    it("answers no points for a pack, a site or a window without samples", async () => {
      expect((await read({ packId: "never-written", from: BASE, to: BASE + HOUR, maxPoints: 100 })).points).toEqual([]);
      expect((await read({ siteId: "site-never", packId: "pack-1", from: BASE, to: BASE + HOUR, maxPoints: 100 })).points).toEqual([]);
      expect((await read({ packId: "pack-1", from: BASE - 100 * HOUR, to: BASE - 99 * HOUR, maxPoints: 100 })).points).toEqual([]);
    });
  });
}
