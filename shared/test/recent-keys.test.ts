import { describe, expect, it } from "vitest";
import { RecentKeys } from "../src/recent-keys";

describe("RecentKeys", () => {
  it("holds the most recent keys and forgets the oldest first", () => {
    const keys = new RecentKeys(3);
    for (const k of ["a", "b", "c"]) keys.add(k);
    expect(["a", "b", "c"].every((k) => keys.has(k))).toBe(true);
    keys.add("d");
    expect(keys.has("a")).toBe(false);
    expect(["b", "c", "d"].every((k) => keys.has(k))).toBe(true);
    expect(keys.size).toBe(3);
  });

  it("keeps a key added twice in its first place, without counting it twice", () => {
    const keys = new RecentKeys(2);
    keys.add("a");
    keys.add("a");
    keys.add("b");
    expect(keys.has("a") && keys.has("b")).toBe(true);
    keys.add("c");
    expect(keys.has("a")).toBe(false);
    expect(keys.has("b") && keys.has("c")).toBe(true);
  });

  it("stays exact over many times its capacity", () => {
    const keys = new RecentKeys(1000);
    for (let i = 0; i < 250_000; i++) keys.add(`k${i}`);
    expect(keys.size).toBe(1000);
    expect(keys.has("k248999")).toBe(false);
    expect(keys.has("k249000") && keys.has("k249999")).toBe(true);
  });

  it("refuses a capacity that is not a whole number of at least 1", () => {
    expect(() => new RecentKeys(0)).toThrow(/at least 1/);
    expect(() => new RecentKeys(1.5)).toThrow(/whole number/);
  });
});
