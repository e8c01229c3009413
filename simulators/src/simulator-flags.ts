import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "@bms/shared";
import { type SimulatorCliOptions, SimulatorCliOptionsSchema } from "./simulator-options";

export const USAGE = `usage: npm run sim -- [--port 5020] [--host 0.0.0.0] [--scenario healthy|NAME|FILE] [--packs N] [--cells 16] [--seed N]
                      [--time-scale 1] [--protocol sunspec|vendor|rtu|can] [--device PATH] [--profile FILE]
                      [--fleet SITESxPACKS] [--faulty 0.2] [--replay FILE] [--speed 1] [--loop]
                      [--fast] [--control-port N] [--control-token TOKEN]`;

/** Flag name → option name. */
const VALUE_FLAGS = {
  host: "host",
  port: "port",
  packs: "packs",
  cells: "cellsPerPack",
  seed: "seed",
  scenario: "scenario",
  "time-scale": "timeScale",
  protocol: "protocol",
  device: "device",
  profile: "profile",
  fleet: "fleet",
  faulty: "faulty",
  replay: "replay",
  speed: "speed",
  "control-port": "controlPort",
  "control-token": "controlToken",
} as const;
const BOOLEAN_FLAGS = { fast: "fast", loop: "loop" } as const;
const NUMERIC: ReadonlySet<string> = new Set(["port", "packs", "cellsPerPack", "seed", "timeScale", "faulty", "speed", "controlPort"]);

function isValueFlag(name: string): name is keyof typeof VALUE_FLAGS {
  return Object.hasOwn(VALUE_FLAGS, name);
}

/** `--packs -3` → `--packs=-3`, so a negative number reaches the schema (and its message) as a value. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const next = argv[i + 1];
    if (arg.startsWith("--") && !arg.includes("=") && isValueFlag(arg.slice(2)) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Parses the command line into SimulatorCliOptions; a bad flag is a ConfigError (one line per
 * problem). SIM_CONTROL_TOKEN in `env` sets the control token when the flag is not given.
 */
export function parseSimulatorFlags(argv: readonly string[], env: NodeJS.ProcessEnv = {}): SimulatorCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(argv),
      options: {
        ...Object.fromEntries(Object.keys(VALUE_FLAGS).map((flag) => [flag, { type: "string" as const }])),
        ...Object.fromEntries(Object.keys(BOOLEAN_FLAGS).map((flag) => [flag, { type: "boolean" as const }])),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const known = [...Object.keys(VALUE_FLAGS), ...Object.keys(BOOLEAN_FLAGS)].map((flag) => `--${flag}`).join(", ");
    throw new ConfigError("command line", [`${(err as Error).message} (known flags: ${known})`]);
  }
  const input: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(VALUE_FLAGS)) {
    const raw = values[flag];
    if (typeof raw !== "string") continue;
    // Digits become numbers; anything else stays a string for the schema to reject with its value.
    input[option] = NUMERIC.has(option) && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  }
  for (const [flag, option] of Object.entries(BOOLEAN_FLAGS)) if (values[flag] === true) input[option] = true;
  if (input.controlToken === undefined && env.SIM_CONTROL_TOKEN) input.controlToken = env.SIM_CONTROL_TOKEN;
  const pathNotes = new Map<string, string>([...Object.entries(VALUE_FLAGS), ...Object.entries(BOOLEAN_FLAGS)].map(([flag, option]) => [option, `--${flag}`]));
  return parseConfig(SimulatorCliOptionsSchema, input, "command line", pathNotes);
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}
