import { parseArgs } from "node:util";
import { ConfigError, PortInUseError } from "./errors";
import type { Logger } from "./logger";

/**
 * Runs a command's main; a ConfigError or PortInUseError prints its message (no stack) and exits 2,
 * anything else prints and exits 1.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof PortInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/**
 * The `--config FILE` (or `-c FILE`) flag every service takes, and nothing else; `--help` prints
 * the usage and exits 0. A bad flag is a ConfigError (exit 2 under runMain).
 */
export function configFileFlag(argv: readonly string[], usage: string, options: { required?: boolean } = {}): string | undefined {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError("command line", [err instanceof Error ? err.message : String(err), usage]);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (options.required && values.config === undefined) throw new ConfigError("command line", ["--config: expected a file", usage]);
  return values.config;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: logs one line, closes (flushing what the part holds), then exits 0,
 * or 1 when closing failed. A second signal while closing is ignored.
 */
export function closeOnSignals(close: () => Promise<void>, log: Logger, fields: Record<string, unknown> = {}): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ ...fields, signal }, "shutting down");
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ ...fields, err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
