import { existsSync } from "node:fs";
import { DEFAULT_PORTS } from "@bms/shared";
import { z } from "zod";
import { shippedScenarioFile, shippedScenarioNames } from "./scenario/scenario-file";

const ScenarioRef = z.string().refine((value) => shippedScenarioFile(value) !== undefined || (/[./\\]/.test(value) && existsSync(value)), {
  message: `expected a shipped scenario (${shippedScenarioNames().join(", ")}) or a scenario file that exists`,
});
const Fleet = z.string().regex(/^\d{1,4}x\d{1,3}$/, "expected SITESxPACKS, e.g. 3x4");

/** Everything `npm run sim` takes (simulator-flags.ts maps the flags onto it), with its default. */
export const SimulatorCliOptionsSchema = z
  .object({
    /** Address the protocol servers listen on (`--host`). @default "0.0.0.0" */
    host: z.string().min(1).default("0.0.0.0"),
    /** Modbus TCP port (`--port`); 0 picks a free one; a fleet's site i uses port + i. @default 5020 */
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.simulatorModbus),
    /** Overrides the scenario's pack count (`--packs`). @default the scenario's */
    packs: z.number().int().min(1).max(247).optional(),
    /** Overrides the scenario's cells per pack (`--cells`). @default the scenario's (16) */
    cellsPerPack: z.number().int().min(1).max(64).optional(),
    /** Overrides the scenario's seed (`--seed`). @default the scenario's */
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    /** Simulated seconds per real second (`--time-scale`). @default 1 */
    timeScale: z.number().positive().max(10_000).default(1),
    /** A shipped scenario's name or a scenario file (`--scenario`). @default "healthy" */
    scenario: ScenarioRef.default("healthy"),
    /** What the packs speak (`--protocol`): SunSpec or a vendor profile over Modbus TCP, Modbus RTU or SLCAN CAN on `--device`. @default "sunspec" */
    protocol: z.enum(["sunspec", "vendor", "rtu", "can"]).default("sunspec"),
    /** Serial device (a pseudo-terminal end) for rtu and can (`--device`). */
    device: z.string().min(1).optional(),
    /** Register profile for `--protocol vendor` (`--profile`). @default "simulators/profiles/vendor-example.yaml" */
    profile: z.string().min(1).optional(),
    /** SITESxPACKS: a fleet, one Modbus TCP port per site (`--fleet`). */
    fleet: Fleet.optional(),
    /** Share of a fleet's packs that carry a fault (`--faulty`). @default 0.2 */
    faulty: z.number().min(0).max(1).default(0.2),
    /** A JSONL or CSV recording to play instead of a scenario (`--replay`). */
    replay: z.string().min(1).optional(),
    /** Replay speed, recording seconds per real second (`--speed`). @default 1 */
    speed: z.number().positive().max(100_000).default(1),
    /** Replay from the start again after the last sample instead of holding it (`--loop`). @default false */
    loop: z.boolean().default(false),
    /** Run the scenario to its end as fast as possible, print a summary and its hash, exit (`--fast`). @default false */
    fast: z.boolean().default(false),
    /** HTTP control interface port (`--control-port`); 0 picks a free one. @default none (no control interface) */
    controlPort: z.number().int().min(0).max(65535).optional(),
    /** Bearer token the control interface requires (`--control-token`, or SIM_CONTROL_TOKEN). @default none */
    controlToken: z.string().min(8).max(256).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.protocol === "rtu" || o.protocol === "can") && o.device === undefined && !o.fast) {
      ctx.addIssue({ code: "custom", path: ["device"], message: `--protocol ${o.protocol} needs --device PATH (a serial port or pseudo-terminal)` });
    }
    if (o.fleet !== undefined && o.replay !== undefined) ctx.addIssue({ code: "custom", path: ["fleet"], message: "--fleet and --replay cannot be combined" });
    if (o.fleet !== undefined && o.protocol !== "sunspec")
      ctx.addIssue({ code: "custom", path: ["protocol"], message: "a fleet speaks SunSpec over Modbus TCP only" });
    if (o.fleet !== undefined && o.controlPort !== undefined)
      ctx.addIssue({ code: "custom", path: ["controlPort"], message: "--control-port does not work with --fleet" });
    if (o.fast && (o.fleet !== undefined || o.replay !== undefined))
      ctx.addIssue({ code: "custom", path: ["fast"], message: "--fast runs a scenario; it does not combine with --fleet or --replay" });
  });

export type SimulatorCliOptions = z.output<typeof SimulatorCliOptionsSchema>;
export type SimulatorCliInput = z.input<typeof SimulatorCliOptionsSchema>;
