import { createLogger, loadConfig, readConfigFile, runMain } from "@bms/shared";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { startIngestion } from "./index";

/** Environment variables of design.md that this service reads. */
const ENV_BINDINGS = {
  MQTT_URL: { path: ["mqtt", "url"] },
  DATA_DIR: { path: ["dataDir"] },
  INFLUX_URL: { path: ["influx", "url"] },
  INFLUX_TOKEN: { path: ["influx", "token"] },
  INFLUX_ORG: { path: ["influx", "org"] },
  INFLUX_BUCKET: { path: ["influx", "bucket"] },
} as const;

const USAGE = "usage: npm run ingestion -- [--config FILE]";

function configFileFromArgs(args: readonly string[]): string | undefined {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--config") {
      file = args[++i];
      if (file === undefined) throw new UsageError("--config needs a file name");
    } else if (arg?.startsWith("--config=")) {
      file = arg.slice("--config=".length);
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return file;
}

function hasInfluxSection(fromFile: unknown): boolean {
  return typeof fromFile === "object" && fromFile !== null && "influx" in fromFile;
}

class UsageError extends Error {
  override readonly name = "UsageError";
}

runMain(async () => {
  let file: string | undefined;
  try {
    file = configFileFromArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  // Unset INFLUX_URL (and no influx section in the file) = no time-series writes: then a stray
  // INFLUX_TOKEN must not half-configure influx and fail validation.
  const env = { ...process.env };
  const fileHasInflux = file !== undefined && hasInfluxSection(readConfigFile(file));
  if (!env.INFLUX_URL && !fileHasInflux) for (const name of ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"]) delete env[name];
  const config = loadConfig(IngestionConfig, { file, env, envBindings: ENV_BINDINGS });
  const log = createLogger("ingestion");
  const ingestion = await startIngestion(config, { log });
  log.info({ mqtt: config.mqtt.url, dataDir: config.dataDir }, "ingestion started");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: draining the spool");
    ingestion.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
});
