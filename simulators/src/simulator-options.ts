import { DEFAULT_PORTS } from "@bms/shared";
import { z } from "zod";

/** The simulated site: every option of startSunSpecSimulator and of `npm run sim`, with its default. */
export const SimulatorOptionsSchema = z
  .object({
    /** Address to listen on (`--host`). @default "0.0.0.0" */
    host: z.string().min(1).default("0.0.0.0"),
    /** Modbus TCP port (`--port`); 0 picks a free one. @default 5020 */
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.simulatorModbus),
    /** Battery packs; pack N answers at Modbus unit ID N (`--packs`). @default 1 */
    packs: z.number().int().min(1).max(247).default(1),
    /** Cells in series per pack, one temperature sensor each (`--cells`). @default 16 */
    cellsPerPack: z.number().int().min(1).max(64).default(16),
    /** PRNG seed: the same seed gives the same packs, serial numbers and load cycle (`--seed`). @default 1 */
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /** Simulated seconds per real second (`--time-scale`). @default 1 */
    timeScale: z.number().positive().max(10_000).default(1),
    /**
     * `healthy` plays no fault; `over-temperature` injects an over-temperature fault on pack 1
     * (sensor 0, +1 °C per simulated second up to 80 °C) 2 simulated seconds after start (`--scenario`).
     * @default "healthy"
     */
    scenario: z.enum(["healthy", "over-temperature"]).default("healthy"),
  })
  .strict();

export type SimulatorOptions = z.input<typeof SimulatorOptionsSchema>;
export type ResolvedSimulatorOptions = z.output<typeof SimulatorOptionsSchema>;
