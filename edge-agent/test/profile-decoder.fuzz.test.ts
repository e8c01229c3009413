import { join } from "node:path";
import { PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import type { DeviceProfile } from "@bms/shared/device-profile";
import { loadDeviceProfile } from "@bms/simulators";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PlausibilityFilter } from "../src/plausibility-filter";
import { DecodeError } from "../src/readers/decode-error";
import type { DeviceReading } from "../src/readers/device-reader";
import { ProfileDeviceReader } from "../src/readers/profile-device-reader";
import type { RegisterTransport } from "../src/transports/register-transport";

/**
 * Property-based tests (fast-check) of the register decoding of a device profile: whatever words a
 * device holds (random, all ones, all zeros, the "not implemented" markers, absurd scale factors),
 * a read decodes to a sample the plausibility filter then passes or rejects with a reason, or
 * rejects with a DecodeError; nothing else is thrown.
 */

const VENDOR = loadDeviceProfile(join(import.meta.dirname, "..", "..", "simulators", "profiles", "vendor-example.yaml"));

/** A device whose every register holds what `wordAt` says. */
function deviceHolding(wordAt: (address: number) => number): RegisterTransport {
  const read = async (_unit: number, address: number, count: number) => Array.from({ length: count }, (_, i) => wordAt(address + i) & 0xffff);
  return { endpoint: "fuzz://device", readHoldingRegisters: read, readInputRegisters: read, close: async () => {} };
}

/** Words a misbehaving BMS holds: anything, or the values that trip decoders (0, 0x7fff, 0x8000, 0xffff, small signed scale factors). */
const wordSource = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 64 }).map((words) => (a: number) => words[a % words.length] ?? 0),
  fc
    .array(fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xffff, 0xfff6, 10, 11, 0xfff5), { minLength: 1, maxLength: 16 })
    .map((words) => (a: number) => words[a % words.length] ?? 0),
  fc.integer({ min: 0, max: 0xffff }).map((w) => () => w),
);

async function decodeWith(profile: DeviceProfile, wordAt: (address: number) => number): Promise<void> {
  const reader = new ProfileDeviceReader(deviceHolding(wordAt), 1, profile);
  const filter = new PlausibilityFilter(PlausibilityConfig.parse({}), 10_000);
  let reading: DeviceReading;
  try {
    reading = await reader.read();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(DecodeError);
    return;
  }
  const verdict = filter.check(reading.sample);
  // Either the sample passes (then it validates) or it is rejected with a reason a person can read.
  if (verdict.release.length === 0) expect(verdict.rejected ?? verdict.suspect).toBeTruthy();
  for (const sample of verdict.release) for (const v of sample.cellVoltages) expect(Number.isFinite(v)).toBe(true);
}

describe("register profile decoding under random register contents", () => {
  it("the vendor profile: a sample, a reasoned rejection, or a DecodeError, for any words", async () => {
    await fc.assert(
      fc.asyncProperty(wordSource, (wordAt) => decodeWith(VENDOR, wordAt)),
      { numRuns: 1000 },
    );
  });

  it("the vendor profile with its scale-factor registers forced absurd or 'not implemented'", async () => {
    const sfRegisters = new Set([...VENDOR.points, ...VENDOR.arrays].flatMap((p) => (p.scaleFactorRegister === undefined ? [] : [p.scaleFactorRegister])));
    await fc.assert(
      fc.asyncProperty(wordSource, fc.constantFrom(0x8000, 0x7fff, 11, 0xfff5, 0xffff, 0), (wordAt, sf) =>
        decodeWith(VENDOR, (a) => (sfRegisters.has(a) ? sf : wordAt(a))),
      ),
      { numRuns: 300 },
    );
  });
});
