import type { EvidenceFollowUp, PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { MAX_FREEZE_FRAME_SAMPLES, planClear, planFollowUp, planFreezeFrameAppend } from "../src/case-policy";
import { aCase, evidence, T0, warranty } from "./case-fixtures";

const sample = (ts: number): PackSample => ({ v: 1, ts, seq: 1, packVoltage: 52, current: 0, soc: 50, cellVoltages: [3.3], cellTemperatures: [25] });

describe("case policy: clears", () => {
  const rows = [
    { name: "no current case", current: null, seen: false, clears: false },
    { name: "cleared already", current: aCase({ clearedAt: T0 + 1 }), seen: false, clears: false },
    { name: "this very clear applied before (a replayed batch)", current: aCase(), seen: true, clears: false },
    { name: "an open case", current: aCase(), seen: false, clears: true },
    { name: "a resolved case", current: aCase({ status: "resolved" }), seen: false, clears: true },
  ];
  it.each(rows)("$name: clears $clears", ({ current, seen, clears }) => {
    const plan = planClear(current, T0 + 5, seen);
    expect(plan !== null).toBe(clears);
    if (plan) {
      expect(plan.changes).toEqual({ clearedAt: T0 + 5, updatedAt: T0 + 5 });
      expect(plan.timeline).toEqual([expect.objectContaining({ kind: "cleared", actor: "rules", at: T0 + 5, status: current?.status })]);
    }
  });
});

describe("case policy: freeze-frame samples", () => {
  const open = { afterCount: 2, lastAfterTs: T0 + 2000, complete: false };
  const ts = (plan: ReturnType<typeof planFreezeFrameAppend>) => plan && { append: plan.append.map((s) => s.ts - T0), complete: plan.complete };
  const rows = [
    { name: "appends newer samples", frame: open, samples: [3000, 4000], complete: false, expect: { append: [3000, 4000], complete: false } },
    { name: "skips what it has (a replayed batch)", frame: open, samples: [1000, 2000, 3000], complete: false, expect: { append: [3000], complete: false } },
    { name: "nothing new, not complete: nothing to write", frame: open, samples: [2000], complete: false, expect: null },
    { name: "completes without samples", frame: open, samples: [], complete: true, expect: { append: [], complete: true } },
    {
      name: "a sample going back in time is skipped",
      frame: open,
      samples: [3000, 2500, 4000],
      complete: false,
      expect: { append: [3000, 4000], complete: false },
    },
    {
      name: "an empty frame takes any first sample",
      frame: { afterCount: 0, lastAfterTs: null, complete: false },
      samples: [5],
      complete: false,
      expect: { append: [5], complete: false },
    },
    { name: "a complete frame takes nothing", frame: { ...open, complete: true }, samples: [3000], complete: true, expect: null },
  ];
  it.each(rows)("$name", ({ frame, samples, complete, expect: expected }) => {
    expect(
      ts(
        planFreezeFrameAppend(
          frame,
          samples.map((t) => sample(T0 + t)),
          complete,
        ),
      ),
    ).toEqual(expected);
  });

  it(`keeps at most ${MAX_FREEZE_FRAME_SAMPLES} samples`, () => {
    const plan = planFreezeFrameAppend({ afterCount: MAX_FREEZE_FRAME_SAMPLES - 1, lastAfterTs: T0, complete: false }, [sample(T0 + 1), sample(T0 + 2)], false);
    expect(plan?.append.map((s) => s.ts)).toEqual([T0 + 1]);
  });
});

describe("case policy: following a condition that holds", () => {
  const up = (over: Partial<EvidenceFollowUp> = {}): EvidenceFollowUp => ({
    direction: "above",
    worstValue: 60,
    worstIndex: 3,
    worstAt: T0 + 10_000,
    worstDetail: "Sensor 4 at 60 °C",
    heldSince: T0,
    heldUntil: T0 + 10_000,
    ...over,
  });
  const followed = (known: EvidenceFollowUp) => aCase({ evidence: { ...evidence(), followUp: known } });
  const rows = [
    { name: "the first follow-up is taken as it is", current: aCase(), incoming: up(), expect: up() },
    {
      name: "a worse value above wins, with its sensor and time; the span grows",
      current: followed(up()),
      incoming: up({ worstValue: 80, worstIndex: 2, worstAt: T0 + 60_000, worstDetail: "Sensor 3 at 80 °C", heldUntil: T0 + 60_000 }),
      expect: up({ worstValue: 80, worstIndex: 2, worstAt: T0 + 60_000, worstDetail: "Sensor 3 at 80 °C", heldUntil: T0 + 60_000 }),
    },
    {
      name: "a milder value keeps the worst; the span still grows",
      current: followed(up()),
      incoming: up({ worstValue: 57, worstIndex: 0, worstAt: T0 + 70_000, heldUntil: T0 + 70_000 }),
      expect: up({ heldUntil: T0 + 70_000 }),
    },
    {
      name: "below: lower is worse",
      current: followed(up({ direction: "below", worstValue: 2.9 })),
      incoming: up({ direction: "below", worstValue: 2.7, worstAt: T0 + 5000 }),
      expect: up({ direction: "below", worstValue: 2.7, worstAt: T0 + 5000 }),
    },
    {
      name: "an equal value keeps the first time it was seen",
      current: followed(up()),
      incoming: up({ worstAt: T0 + 90_000, heldUntil: T0 + 90_000 }),
      expect: up({ heldUntil: T0 + 90_000 }),
    },
    { name: "an older follow-up (replayed) shortens nothing", current: followed(up({ heldUntil: T0 + 90_000 })), incoming: up(), expect: null },
  ];
  it.each(rows)("$name", ({ current, incoming, expect: expected }) => {
    const plan = planFollowUp(current, incoming, null, incoming.heldUntil);
    if (expected === null) return expect(plan).toBeNull();
    expect(plan?.case.evidence.followUp).toEqual(expected);
    // The evidence at opening stays as it was; the timeline gets nothing.
    expect(plan?.case.evidence.detail).toBe(current.evidence.detail);
    expect(plan?.timeline).toEqual([]);
  });

  it("replaces the warranty assessment with a newer one only, and follows no closed or missing case", () => {
    const current = { ...followed(up()), warranty: warranty("free", T0) };
    const newer = planFollowUp(current, up(), warranty("chargeable", T0 + 60_000), T0 + 60_000);
    expect(newer?.case.warranty).toMatchObject({ suggestion: "chargeable", assessedAt: T0 + 60_000 });
    expect(newer?.changes.updatedAt).toBe(T0 + 60_000);
    expect(planFollowUp(current, up(), warranty("chargeable", T0 - 1), T0 + 60_000)).toBeNull();
    expect(planFollowUp(aCase({ status: "closed" }), up(), null, T0)).toBeNull();
    expect(planFollowUp(null, up(), null, T0)).toBeNull();
    expect(planFollowUp(aCase({ status: "resolved" }), up(), null, T0)?.case.evidence.followUp).toEqual(up());
  });
});
