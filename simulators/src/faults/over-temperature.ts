import { z } from "zod";
import { defineFault, Index, StartAfterS } from "./fault-module";

export const OverTemperatureFault = z
  .object({
    kind: z.literal("over-temperature"),
    /** Temperature sensor (0-based cell index) that climbs. @default 0 */
    sensor: Index.default(0),
    /** °C per simulated second. @default 1 */
    ratePerSecond: z.number().positive().max(100).default(1),
    /** The sensor stops climbing here, °C. @default 80 */
    maxC: z.number().min(-40).max(200).default(80),
    /** `sensor`: one cell heats (a loose busbar, a hot spot); `pack`: every cell (failed cooling, a hot room). @default "sensor" */
    scope: z.enum(["sensor", "pack"]).optional(),
    /** @default 0 */
    startAfterS: StartAfterS,
  })
  .strict();

/** One cell (or every cell) heats at a fixed rate up to a ceiling; neighbours warm by conduction. */
export const overTemperature = defineFault(OverTemperatureFault, {
  target: (f) => ({ what: "sensor", index: f.sensor }),
  activate: (f) => ({
    integrate(_t, dt, temperatures) {
      const heat = (i: number) => {
        const temp = temperatures[i] ?? 0;
        if (temp < f.maxC) temperatures[i] = Math.min(f.maxC, temp + f.ratePerSecond * dt);
      };
      if (f.scope === "pack") for (let i = 0; i < temperatures.length; i++) heat(i);
      else heat(f.sensor);
    },
  }),
});
