import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "@bms/shared";
import { type ResolvedSimulatorOptions, SimulatorOptionsSchema } from "./simulator-options";

export const USAGE = `usage: npm run sim -- [--port 5020] [--packs 1] [--host 0.0.0.0] [--cells 16] [--seed 1]
                      [--scenario healthy|over-temperature] [--time-scale 1]`;

/** Flag name → option name; every flag takes a value. */
const FLAGS = {
  host: "host",
  port: "port",
  packs: "packs",
  cells: "cellsPerPack",
  seed: "seed",
  scenario: "scenario",
  "time-scale": "timeScale",
} as const;
type Flag = keyof typeof FLAGS;
const NUMERIC: ReadonlySet<string> = new Set(["port", "packs", "cellsPerPack", "seed", "timeScale"]);

function isFlag(name: string): name is Flag {
  return Object.hasOwn(FLAGS, name);
}

/** `--packs -3` → `--packs=-3`, so a negative number reaches the schema (and its message) as a value. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const next = argv[i + 1];
    if (arg.startsWith("--") && !arg.includes("=") && isFlag(arg.slice(2)) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Parses the command line into SimulatorOptions; a bad flag is a ConfigError (one line per problem). */
export function parseSimulatorFlags(argv: readonly string[]): ResolvedSimulatorOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(argv),
      options: {
        host: { type: "string" },
        port: { type: "string" },
        packs: { type: "string" },
        cells: { type: "string" },
        seed: { type: "string" },
        scenario: { type: "string" },
        "time-scale": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const known = Object.keys(FLAGS)
      .map((flag) => `--${flag}`)
      .join(", ");
    throw new ConfigError("command line", [`${(err as Error).message} (known flags: ${known})`]);
  }
  const input: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(FLAGS)) {
    const raw = values[flag];
    if (typeof raw !== "string") continue;
    // Digits become numbers; anything else stays a string for the schema to reject with its value.
    input[option] = NUMERIC.has(option) && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  }
  const pathNotes = new Map(Object.entries(FLAGS).map(([flag, option]) => [option, `--${flag}`]));
  return parseConfig(SimulatorOptionsSchema, input, "command line", pathNotes);
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}
