import type { WarrantyAssessment } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { planCommandEntry, withBmsLog } from "../src/case-policy";
import { aCase, T0 } from "./case-fixtures";

const HOUR = 3_600_000;
const monitoredSince = T0 - 24 * HOUR;

function warranty(over: Partial<WarrantyAssessment> = {}): WarrantyAssessment {
  return {
    coverage: "in-warranty",
    warrantyStart: "2024-01-01",
    warrantyEnd: "2034-01-01",
    assessedAt: T0,
    historySince: monitoredSince,
    exclusions: [],
    suggestion: "free",
    reason: "In warranty; no excluded condition in the pack's history.",
    ...over,
  };
}

const read = (over: Record<string, unknown> = {}) => ({
  commandId: "cmd-read-2",
  readAt: T0 + HOUR,
  counters: { overTemperature: 3, shortCircuit: 0 },
  previous: null,
  events: [],
  totalEvents: 3,
  ...over,
});

describe("warranty from the BMS's own log", () => {
  it("events the BMS logged before monitoring began make an in-warranty repair chargeable; later ones are the telemetry's", () => {
    const w = withBmsLog(
      warranty(),
      read({
        events: [
          { code: "OVER_TEMP_ALARM", at: monitoredSince - 10 * HOUR, value: 61.5, unit: "°C" },
          { code: "OVER_TEMP_ALARM", at: monitoredSince - 9 * HOUR, value: 63, unit: "°C" },
          { code: "SHORT_CIRCUIT", at: null, value: 900, unit: "A" }, // clock not set: when is unknown
          { code: "UNDER_VOLT_ALARM", at: monitoredSince + HOUR, value: 2.4, unit: "V" }, // monitored
        ],
      }),
    );
    expect(w.suggestion).toBe("chargeable");
    expect(w.reason).toMatch(/BMS's own log .*over-temperature/);
    expect(w.exclusions).toEqual([
      expect.objectContaining({
        condition: "over-temperature",
        source: "bms-log",
        events: 2,
        worst: 63,
        firstAt: monitoredSince - 10 * HOUR,
        lastAt: monitoredSince - 9 * HOUR,
        exceedsTolerance: true,
      }),
    ]);
  });

  it("a counter that rose between two reads while the telemetry showed nothing of it is misuse evidence; one the telemetry saw is not", () => {
    const previous = { readAt: T0 - HOUR, counters: { overTemperature: 1, shortCircuit: 0 } };
    const offline = withBmsLog(warranty(), read({ previous }));
    expect(offline.exclusions).toEqual([expect.objectContaining({ condition: "over-temperature", source: "bms-log", events: 2 })]);
    expect(offline.exclusions[0]?.detail).toMatch(/counted 2 more overTemperature trip\(s\).*never showed/);
    expect(offline.suggestion).toBe("chargeable");
    const seenByTelemetry = warranty({
      exclusions: [
        {
          condition: "over-temperature",
          seconds: 30,
          events: 2,
          worst: 58,
          firstAt: T0 - HOUR / 2,
          lastAt: T0 - HOUR / 4,
          exceedsTolerance: false,
          detail: "30 s above 55 °C",
        },
      ],
    });
    expect(withBmsLog(seenByTelemetry, read({ previous }))).toEqual(seenByTelemetry);
  });

  it("nothing found changes nothing; out of warranty keeps its suggestion; the case plan applies it with the previous read", () => {
    const w = warranty();
    expect(withBmsLog(w, read())).toBe(w);
    const out = withBmsLog(
      warranty({ coverage: "out-of-warranty", suggestion: "chargeable", reason: "Out of warranty." }),
      read({ previous: { readAt: T0 - HOUR, counters: { overTemperature: 0 } } }),
    );
    expect(out.reason).toBe("Out of warranty.");
    expect(out.exclusions).toHaveLength(1);

    // Through the case policy: the first read sets the baseline, the second finds the rise.
    const c = aCase({ warranty: warranty() });
    const first = planCommandEntry(
      c,
      {
        kind: "command-result",
        commandId: "cmd-1",
        commandStatus: "succeeded",
        message: "read 1",
        bmsHistory: { ...read({ commandId: "cmd-1", readAt: T0 - HOUR, counters: { overTemperature: 1 } }) },
      },
      "Erin",
      T0,
    );
    expect(first.case.warranty?.suggestion).toBe("free");
    const { previous: _none, ...second } = read({ commandId: "cmd-2" });
    const plan = planCommandEntry(
      first.case,
      { kind: "command-result", commandId: "cmd-2", commandStatus: "succeeded", message: "read 2", bmsHistory: second },
      "Erin",
      T0 + HOUR,
    );
    expect(plan.case.evidence.bmsHistory?.previous).toEqual({ readAt: T0 - HOUR, counters: { overTemperature: 1 } });
    expect(plan.case.warranty?.suggestion).toBe("chargeable");
    expect(plan.changes.warranty?.exclusions.map((x) => [x.condition, x.source, x.events])).toEqual([["over-temperature", "bms-log", 2]]);
    expect(plan.timeline).toEqual([expect.objectContaining({ kind: "command-result", actor: "Erin", message: "read 2" })]);
  });
});
