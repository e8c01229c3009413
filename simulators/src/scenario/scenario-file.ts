import { existsSync, readdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { ConfigError, Id, packageDir, parseConfig, readConfigFile, Severity } from "@bms/shared";
import { z } from "zod";
import { FaultSchema } from "../faults";
import { type PackModelOptions, PackModelOptionsSchema } from "../pack-model";

/**
 * A scenario file (YAML or JSON): which packs, how they start, what drives them, which faults hit
 * them when, and which support case the run should cause. Same file, same seed → the same
 * byte-identical stream of registers and frames (see scenario-recorder.ts).
 */

/** Where the shipped scenarios live (`simulators/scenarios/*.yaml`). */
export const SHIPPED_SCENARIO_DIR = join(packageDir("@bms/simulators"), "scenarios");

const UnitId = z.number().int().min(1).max(247);
const Seconds = z.number().min(0).max(1e9);

/** The support case a scenario should cause, for tests, demos and the fleet manifest. */
export const ExpectedCaseSchema = z
  .object({
    /**
     * The ingestion rule that should open the case (services/ingestion/rules/default-rules.yaml),
     * `none` for a healthy run.
     */
    ruleId: z.union([z.literal("none"), Id]),
    /** @default none for ruleId none, otherwise "major" */
    severity: Severity.optional(),
    /** Unit ID of the pack the case is about (absent for `none`). */
    pack: UnitId.optional(),
    /** The case should open within this many simulated seconds of the scenario's start. */
    withinS: Seconds.optional(),
    /** One sentence: what an engineer should see. */
    note: z.string().max(500).optional(),
  })
  .strict();
export type ExpectedCase = z.output<typeof ExpectedCaseSchema>;

/**
 * A pack's model options, validated by the model's PackModelOptionsSchema but kept as written:
 * the model fills in its own defaults, and a seed left out is derived per pack from the scenario's.
 */
function packOptions(allowUnitId: boolean) {
  return z
    .custom<PackModelOptions & { unitId?: number }>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
      message: "expected an object of pack model options",
    })
    .superRefine((value, ctx) => {
      const { unitId, ...options } = value;
      if (allowUnitId && unitId !== undefined) {
        const unit = UnitId.safeParse(unitId);
        if (!unit.success) ctx.addIssue({ code: "custom", path: ["unitId"], message: "expected an integer unit ID 1–247", input: unitId });
      } else if (unitId !== undefined) {
        ctx.addIssue({ code: "custom", path: ["unitId"], message: "unitId belongs on a pack of the packs list", input: unitId });
      }
      const result = PackModelOptionsSchema.safeParse(options, { reportInput: true });
      if (result.success) return;
      for (const issue of result.error.issues) {
        ctx.addIssue({
          code: "custom",
          path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
          message: issue.message,
          input: issue.input,
        });
      }
    });
}

/** One pack: unit ID (default: its position, from 1) and the pack model's options. */
export const ScenarioPackSchema = packOptions(true);
export type ScenarioPack = z.output<typeof ScenarioPackSchema>;

export const TimelineEntrySchema = z
  .object({
    /** Simulated seconds after the start at which the fault is injected (its own startAfterS adds to this). */
    atS: Seconds,
    /** Unit ID of the pack that gets the fault. */
    pack: UnitId,
    fault: FaultSchema,
  })
  .strict();
export type TimelineEntry = z.output<typeof TimelineEntrySchema>;

export const ScenarioSchema = z
  .object({
    /** Short name, e.g. the file name without extension. */
    name: Id,
    description: z.string().max(2000).default(""),
    /** PRNG seed for every pack (each pack's own seed is derived from it). @default 1 */
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /** Which support case the run should cause. @default { ruleId: "none" } */
    expects: ExpectedCaseSchema.default({ ruleId: "none" }),
    /** A pack count (every pack with the model's defaults) or a list of packs. @default 1 */
    packs: z.union([z.number().int().min(1).max(247), z.array(ScenarioPackSchema).min(1).max(247)]).default(1),
    /** Options every pack of a count (or every listed pack, under its own) starts from. @default {} */
    packDefaults: packOptions(false).default({}),
    /** Faults on the timeline. @default [] */
    faults: z.array(TimelineEntrySchema).max(10_000).default([]),
    /** How long the scenario runs, simulated seconds (fast mode and recordings stop here; real time keeps going). @default 600 */
    durationS: z.number().positive().max(1e8).default(600),
    /** Seconds between recorded samples / polls. @default 1 */
    intervalS: z.number().positive().max(86_400).default(1),
    /** The fixed model step, s: fast and real-time runs step the packs in these quanta, so both see the same states. @default 1 */
    stepS: z.number().positive().max(60).default(1),
  })
  .strict()
  .superRefine((scenario, ctx) => {
    const units = scenarioUnitIds(scenario.packs);
    const seen = new Set<number>();
    units.forEach((unit, i) => {
      if (seen.has(unit)) ctx.addIssue({ code: "custom", path: ["packs", i, "unitId"], message: `unit ID ${unit} is used twice` });
      seen.add(unit);
    });
    scenario.faults.forEach((entry, i) => {
      if (!seen.has(entry.pack))
        ctx.addIssue({ code: "custom", path: ["faults", i, "pack"], message: `no pack with unit ID ${entry.pack} (packs: ${units.join(", ")})` });
    });
    if (scenario.expects.pack !== undefined && !seen.has(scenario.expects.pack)) {
      ctx.addIssue({ code: "custom", path: ["expects", "pack"], message: `no pack with unit ID ${scenario.expects.pack}` });
    }
  });
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type Scenario = z.output<typeof ScenarioSchema>;

function scenarioUnitIds(packs: Scenario["packs"]): number[] {
  return typeof packs === "number" ? Array.from({ length: packs }, (_, i) => i + 1) : packs.map((pack, i) => pack.unitId ?? i + 1);
}

/** The unit IDs of a scenario's packs, in order. */
export function unitIdsOf(scenario: Scenario): number[] {
  return scenarioUnitIds(scenario.packs);
}

/** Validates a scenario object; a ConfigError with one line per problem names `source`. */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  return parseConfig(ScenarioSchema, input, source);
}

/** Reads and validates a YAML or JSON scenario file (name defaults to the file name). */
export function readScenarioFile(file: string): Scenario {
  const raw = readConfigFile(file);
  const withName = typeof raw === "object" && raw !== null && !Array.isArray(raw) && !("name" in raw) ? { ...raw, name: basename(file, extname(file)) } : raw;
  return parseScenario(withName, file);
}

/** Names of the shipped scenarios, sorted. */
export function shippedScenarioNames(): string[] {
  return readdirSync(SHIPPED_SCENARIO_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => basename(file, ".yaml"))
    .sort();
}

/** The file a shipped name stands for, or undefined. */
export function shippedScenarioFile(name: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return undefined;
  const file = join(SHIPPED_SCENARIO_DIR, `${name}.yaml`);
  return existsSync(file) ? file : undefined;
}

/** `NAME` of a shipped scenario or a path to a scenario file; anything else is a ConfigError. */
export function resolveScenarioFile(nameOrFile: string, setting = "--scenario"): string {
  const shipped = shippedScenarioFile(nameOrFile);
  if (shipped) return shipped;
  if (/[./\\]/.test(nameOrFile) && existsSync(nameOrFile)) return nameOrFile;
  throw new ConfigError(setting, [
    `${setting}: ${JSON.stringify(nameOrFile)} is neither a shipped scenario (${shippedScenarioNames().join(", ")}) nor a scenario file`,
  ]);
}

/** Loads a shipped scenario by name or a scenario file by path. */
export function loadScenario(nameOrFile: string, setting = "--scenario"): Scenario {
  return readScenarioFile(resolveScenarioFile(nameOrFile, setting));
}
