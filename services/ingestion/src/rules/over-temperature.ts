import type { RulesConfig } from "@bms/shared/config/ingestion-config";
import type { SampleRule } from "./rule";
import { createThresholdRule, maxWithIndex } from "./threshold-rule";

export const OVER_TEMPERATURE = "over-temperature";

/** Any temperature sensor above the threshold for debounceSamples consecutive samples. */
export function createOverTemperatureRule(config: RulesConfig["overTemperature"]): SampleRule {
  return createThresholdRule(
    {
      id: OVER_TEMPERATURE,
      title: "Over-temperature",
      worst: (sample) => maxWithIndex(sample.cellTemperatures),
      describe: (value, index, threshold, samples) => `Sensor ${index} read ${value} °C, above the ${threshold} °C limit, for ${samples} consecutive samples.`,
    },
    config,
  );
}
