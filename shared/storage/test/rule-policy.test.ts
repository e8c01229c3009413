import type { PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { MAX_FREEZE_FRAME_SAMPLES, planClear, planFreezeFrameAppend } from "../src/case-policy";
import { aCase, T0 } from "./case-fixtures";

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
