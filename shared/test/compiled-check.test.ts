import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compiledCheck } from "../src/compiled-check";
import { PackSample } from "../src/pack-sample";

/**
 * The compiled check must never accept what zod refuses, and what it accepts must be what zod's
 * parse returns: every field of the pack sample is tried with hostile values, then thousands of
 * random mutants.
 */
const accepts = compiledCheck(PackSample);

const valid = {
  v: 1,
  ts: 1_767_225_600_000,
  seq: 7,
  packVoltage: 52.8,
  current: -12.5,
  soc: 64.2,
  soh: 97.5,
  cellVoltages: Array.from({ length: 16 }, (_, i) => 3.3 + i / 1000),
  cellTemperatures: [24.5, 25, 26.5, 25.5],
  bmsAlarms: ["OVER_TEMP_ALARM"],
  remainingCapacity: 64,
  cycleCount: 412,
  chargeCurrentLimit: 50,
  dischargeCurrentLimit: 100,
  chargeVoltageLimit: 56.8,
  dischargeVoltageLimit: 44.8,
  insulationResistance: 2000,
};

const hostile: unknown[] = [
  // Not from JSON, but from a decoder (the edge agent's registers).
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  undefined,
  null,
  true,
  "1",
  "",
  [],
  {},
  [1],
  0,
  -0,
  -1,
  0.5,
  1,
  1.5,
  5,
  5.000001,
  100,
  100.1,
  150,
  150.5,
  -50,
  -50.5,
  1500,
  1500.1,
  10_000,
  -10_000.1,
  1_000_000,
  1_000_001,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  -1e308,
  946_684_800_000,
  946_684_799_999,
  4_102_444_800_000,
  4_102_444_800_001,
  "OVER_TEMP_ALARM",
  ["NOT_AN_ALARM"],
  [null],
  ["1"],
  [3.3, "3.3"],
  [3.3, -0.1],
  [3.3, 5.1],
  [-50, 150.1],
  Array.from({ length: 1024 }, () => 3.3),
  Array.from({ length: 1025 }, () => 3.3),
  Array.from({ length: 65 }, () => "OVER_TEMP_ALARM"),
  { length: 2 },
  { __proto__: null },
];

function agree(value: unknown): void {
  const forZod = structuredClone(value);
  const forCheck = structuredClone(value);
  // structuredClone keeps NaN, Infinity and undefined as they are.
  const zod = PackSample.safeParse(forZod);
  const compiled = accepts(forCheck);
  expect({ value, compiled }).toEqual({ value, compiled: zod.success });
  if (zod.success) expect(forCheck).toEqual(zod.data);
}

describe("the compiled pack-sample check", () => {
  it("accepts a whole sample and the fewest fields, as zod returns them", () => {
    agree(valid);
    const required = ["v", "ts", "seq", "packVoltage", "current", "soc", "cellVoltages", "cellTemperatures"] as const;
    const fewest = Object.fromEntries(required.map((key) => [key, valid[key]]));
    agree(fewest);
    expect(accepts(structuredClone(fewest))).toBe(true);
  });

  it("drops keys the schema does not know, as zod does", () => {
    const value = JSON.parse(`{"extra":{"deep":[1,2]},"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`);
    agree(value);
    expect(accepts(value)).toBe(true);
    expect(Object.keys(value)).not.toContain("extra");
    expect(Object.hasOwn(value, "__proto__")).toBe(false);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("agrees with zod on every field set to every hostile value, or missing", () => {
    for (const key of Object.keys(valid)) {
      const { [key]: _, ...without } = valid as Record<string, unknown>;
      agree(without);
      for (const bad of hostile) agree({ ...valid, [key]: bad });
    }
    for (const bad of hostile) agree(bad);
  });

  it("agrees with zod on random mutants (seeded)", () => {
    let seed = 20_261_202;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const keys = Object.keys(valid);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const value: Record<string, unknown> = structuredClone(valid);
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const key = pick(keys);
        const current = value[key];
        const roll = random();
        if (roll < 0.2) delete value[key];
        else if (roll < 0.5 && Array.isArray(current) && current.length > 0) current[Math.floor(random() * current.length)] = pick(hostile);
        else if (roll < 0.7 && typeof current === "number") value[key] = current * (random() < 0.5 ? -1 : 1) * (1 + random() * 3);
        else value[key] = pick(hostile);
      }
      const zod = PackSample.safeParse(structuredClone(value));
      if (zod.success) accepted++;
      agree(value);
    }
    // Both outcomes were tried.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(2900);
  });

  it("refuses a schema JSON Schema cannot express", () => {
    expect(() => compiledCheck(z.object({ at: z.string().transform((s) => s.length) }))).toThrow();
    expect(() => compiledCheck(z.object({ at: z.date() }))).toThrow();
    // A default is left to zod: the check asks for the key.
    expect(compiledCheck(z.object({ n: z.number().default(1) }))({})).toBe(false);
  });
});
