import type { RulesConfig } from "@bms/shared/config/ingestion-config";
import type { SampleRule } from "./rule";
import { createThresholdRule, maxWithIndex } from "./threshold-rule";

export const CELL_OVER_VOLTAGE = "cell-over-voltage";

/** Any cell above the threshold for debounceSamples consecutive samples. */
export function createCellOverVoltageRule(config: RulesConfig["cellOverVoltage"]): SampleRule {
  return createThresholdRule(
    {
      id: CELL_OVER_VOLTAGE,
      title: "Cell over-voltage",
      worst: (sample) => maxWithIndex(sample.cellVoltages),
      describe: (value, index, threshold, samples) => `Cell ${index} was at ${value} V, above the ${threshold} V limit, for ${samples} consecutive samples.`,
    },
    config,
  );
}
