import { CaptureEvidence, type CaptureSummary, MAX_CAPTURE_EVIDENCE_POINTS, type PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { captureEvidenceOf, mergeCapture, planCommandEntry } from "../src/case-policy";
import { aCase, sample, T0 } from "./case-fixtures";

const summary = (samples: number, startedAt = T0): CaptureSummary => ({
  hz: 10,
  seconds: 120,
  startedAt,
  endedAt: startedAt + samples * 100,
  samples,
  parts: Math.ceil(samples / 50),
  failedReads: 1,
});
const samples = (n: number, t0 = T0): PackSample[] =>
  Array.from({ length: n }, (_, i) => ({ ...sample(t0 + i * 100), seq: i, packVoltage: 52.123456 + i / 1000, cellVoltages: [3.2, 3.3 + i / 10_000] }));

describe("case policy: a capture as the case's second freeze frame", () => {
  it("keeps per-field series of the charted quantities, in time order, rounded", () => {
    const c = captureEvidenceOf("cmd-a", summary(3), samples(3).reverse());
    expect(CaptureEvidence.safeParse(c).success).toBe(true);
    expect(c.ts).toEqual([T0, T0 + 100, T0 + 200]);
    expect(c.packVoltage).toEqual([52.123, 52.124, 52.125]);
    expect(c.cellVoltageMin).toEqual([3.2, 3.2, 3.2]);
    expect(c.cellVoltageMax).toEqual([3.3, 3.3001, 3.3002]);
    expect(c.temperatureMax).toEqual([25, 25, 25]);
    expect(c).toMatchObject({ commandId: "cmd-a", samples: 3, failedReads: 1, hz: 10 });
  });

  it("a pack without cells or sensors: null min/max", () => {
    const c = captureEvidenceOf("cmd-a", summary(1), [{ ...sample(), cellVoltages: [], cellTemperatures: [] }]);
    expect(c.cellVoltageMin).toEqual([null]);
    expect(c.temperatureMax).toEqual([null]);
  });

  it(`caps the points at ${MAX_CAPTURE_EVIDENCE_POINTS}, spread evenly with the first and last kept`, () => {
    const many = samples(MAX_CAPTURE_EVIDENCE_POINTS * 3 + 7);
    const c = captureEvidenceOf("cmd-a", summary(many.length), many);
    expect(c.ts).toHaveLength(MAX_CAPTURE_EVIDENCE_POINTS);
    expect(c.soc).toHaveLength(MAX_CAPTURE_EVIDENCE_POINTS);
    expect(c.ts[0]).toBe(many[0]?.ts);
    expect(c.ts.at(-1)).toBe(many.at(-1)?.ts);
    expect(c.samples).toBe(many.length);
    expect(CaptureEvidence.safeParse(c).success).toBe(true);
    // A whole capture at the highest rate fits without thinning, and stays small.
    const whole = captureEvidenceOf("cmd-b", summary(MAX_CAPTURE_EVIDENCE_POINTS), samples(MAX_CAPTURE_EVIDENCE_POINTS));
    expect(whole.ts).toHaveLength(MAX_CAPTURE_EVIDENCE_POINTS);
    expect(JSON.stringify(whole).length).toBeLessThan(80_000);
  });

  it("a newer capture replaces the case's; a late result of an older one does not", () => {
    const older = captureEvidenceOf("cmd-old", summary(2, T0), samples(2, T0));
    const newer = captureEvidenceOf("cmd-new", summary(2, T0 + 60_000), samples(2, T0 + 60_000));
    expect(mergeCapture(undefined, older)).toBe(older);
    expect(mergeCapture(older, newer)).toBe(newer);
    expect(mergeCapture(newer, older)).toBe(newer);
  });

  it("planCommandEntry puts it in the evidence and leaves the rest of the evidence as it was", () => {
    const c = aCase();
    const capture = captureEvidenceOf("cmd-a", summary(2), samples(2));
    const plan = planCommandEntry(
      c,
      { kind: "command-result", commandId: "cmd-a", commandStatus: "succeeded", message: "capture succeeded", capture },
      "Erin",
      T0 + 5,
    );
    expect(plan.case.evidence).toEqual({ ...c.evidence, capture });
    expect(plan.timeline).toMatchObject([{ kind: "command-result", actor: "Erin", message: "capture succeeded" }]);
  });
});
