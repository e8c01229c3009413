import { describe, expect, it } from "vitest";
import { median, mediansOfOthers } from "../src/statistics";

describe("statistics", () => {
  it("median: the middle one, the mean of the middle two, null for none", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([-0.5])).toBe(-0.5);
    expect(median([])).toBeNull();
  });

  it("mediansOfOthers: for each entry, what median gives for the present others", () => {
    // Seeded, so that a failure repeats: readings with ties, gaps and sizes from 0 to 20.
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 2000; trial++) {
      const values = Array.from({ length: Math.floor(next() * 21) }, () => (next() < 0.15 ? null : Math.round(next() * 20) / 4 - 2));
      const expected = values.map((_, i) => median(values.filter((v, j): v is number => j !== i && v !== null)));
      expect(mediansOfOthers(values)).toEqual(expected);
    }
  });

  it("mediansOfOthers: none for a lone reading or none at all", () => {
    expect(mediansOfOthers([5])).toEqual([null]);
    expect(mediansOfOthers([null, 5])).toEqual([5, null]);
    expect(mediansOfOthers([null, null])).toEqual([null, null]);
    expect(mediansOfOthers([])).toEqual([]);
  });
});
