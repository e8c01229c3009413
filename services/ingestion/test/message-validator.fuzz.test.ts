import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "../src/intake/json-depth";
import { type MessageLimits, validateMessage } from "../src/intake/message-validator";

/**
 * Property-based tests of the payload validator: whatever arrives on a topic, validation returns
 * (never throws, never hangs) and a rejection always names its category with one readable line.
 */
const LIMITS: MessageLimits = { maxPayloadBytes: 256 * 1024, maxJsonDepth: 16, maxCellsPerPack: 512, maxClockAheadMs: 300_000 };
const NOW = Date.UTC(2026, 11, 1);
const TOPICS = ["bms/s1/p1/telemetry", "bms/s1/p1/meta", "bms/s1/status", "bms/s1/p1/other", "cases/s1/p1", "bms/../x/telemetry", "bms/s1/p1/telemetry/x"];

function check(topic: string, payload: Uint8Array): void {
  const result = validateMessage(topic, payload, LIMITS, NOW);
  if (!result.ok) {
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.reason).not.toContain("\n");
  }
}

const sampleShape = fc.record({
  v: fc.oneof(fc.constant(1), fc.anything()),
  ts: fc.oneof(fc.integer({ min: NOW - 1e9, max: NOW + 1e9 }), fc.double(), fc.anything()),
  seq: fc.oneof(fc.nat(), fc.double(), fc.string()),
  packVoltage: fc.oneof(fc.double(), fc.string()),
  current: fc.double(),
  soc: fc.double(),
  cellVoltages: fc.oneof(fc.array(fc.double(), { maxLength: 600 }), fc.anything()),
  cellTemperatures: fc.array(fc.oneof(fc.double(), fc.constant(null)), { maxLength: 20 }),
  bmsAlarms: fc.array(fc.oneof(fc.constantFrom("OVER_TEMP_ALARM", "__proto__", "constructor"), fc.string()), { maxLength: 5 }),
  __proto__: fc.anything(),
});

describe("the payload validator under random and adversarial input", () => {
  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TOPICS), fc.uint8Array({ maxLength: 2048 }), (topic, bytes) => check(topic, bytes)),
      { numRuns: 2000 },
    );
  });

  it("never throws on random JSON values, and any refusal is one readable line", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TOPICS), fc.jsonValue({ maxDepth: 6 }), (topic, value) => check(topic, Buffer.from(JSON.stringify(value) ?? "null"))),
      { numRuns: 2000 },
    );
  });

  it("never throws on sample-shaped objects with wrong types, extreme numbers and prototype keys", () => {
    fc.assert(
      fc.property(sampleShape, (shape) => {
        const text = JSON.stringify(shape, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
        check("bms/s1/p1/telemetry", Buffer.from(text ?? "null"));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses deep nesting before parsing, wherever it sits, and ignores brackets inside strings", () => {
    fc.assert(
      fc.property(fc.integer({ min: 17, max: 20_000 }), fc.constantFrom("[", '{"a":'), (depth, open) => {
        const close = open === "[" ? "]" : "}";
        const text = `${open.repeat(depth)}1${close.repeat(depth)}`;
        const result = validateMessage("bms/s1/p1/telemetry", Buffer.from(text), LIMITS, NOW);
        expect(result).toMatchObject({ ok: false, category: "too_deep" });
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("[", "{", "\\", '"', "a") }), (s) => {
        expect(nestsDeeperThan(JSON.stringify({ s }), 2)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a sample whose clock runs ahead of its arrival, however far", () => {
    fc.assert(
      fc.property(fc.integer({ min: 300_001, max: 4_102_444_800_000 - NOW }), (ahead) => {
        const sample = { v: 1, ts: NOW + ahead, seq: 1, packVoltage: 52, current: 0, soc: 50, cellVoltages: [3.3], cellTemperatures: [25] };
        const result = validateMessage("bms/s1/p1/telemetry", Buffer.from(JSON.stringify(sample)), LIMITS, NOW);
        expect(result).toMatchObject({ ok: false, category: "clock_ahead" });
      }),
      { numRuns: 500 },
    );
  });
});
