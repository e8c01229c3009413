import { z } from "zod";
import { defineFault, Index, StartAfterS } from "./fault-module";

export const TemperatureSensorFailureFault = z
  .object({
    kind: z.literal("temperature-sensor-failure"),
    sensor: Index.default(0),
    /** `stuck` at its last reading, `open` circuit (reads −40 °C), `shorted` (reads 125 °C). @default "open" */
    mode: z.enum(["stuck", "open", "shorted"]).default("open"),
    startAfterS: StartAfterS,
  })
  .strict();

/** What a failed NTC reads, °C. */
const OPEN_SENSOR_C = -40;
const SHORTED_SENSOR_C = 125;

/** A temperature sensor fails: the cell is fine, its reading is not. */
export const temperatureSensorFailure = defineFault(TemperatureSensorFailureFault, {
  target: (f) => ({ what: "sensor", index: f.sensor }),
  activate(f) {
    let heldC: number | undefined; // a stuck sensor's reading
    return {
      sensorReadings(_t, readings, previous) {
        if (f.mode === "open") readings[f.sensor] = OPEN_SENSOR_C;
        else if (f.mode === "shorted") readings[f.sensor] = SHORTED_SENSOR_C;
        else {
          heldC ??= previous[f.sensor] ?? readings[f.sensor] ?? 0;
          readings[f.sensor] = heldC;
        }
      },
    };
  },
});
