import { closeOnSignals, configFileFlag, createLogger, loadConfig, readConfigFile, runMain } from "@bms/shared";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { startIngestion } from "./index";

/** The environment variables this service reads (docs/architecture.md, Contracts). */
const ENV_BINDINGS = {
  MQTT_URL: { path: ["mqtt", "url"] },
  DATA_DIR: { path: ["dataDir"] },
  INFLUX_URL: { path: ["influx", "url"] },
  INFLUX_TOKEN: { path: ["influx", "token"] },
  INFLUX_ORG: { path: ["influx", "org"] },
  INFLUX_BUCKET: { path: ["influx", "bucket"] },
  INFLUX_GZIP: { path: ["influx", "gzip"], type: "bool" },
  AMQP_URL: { path: ["amqp", "url"] },
  DATABASE_URL: { path: ["databaseUrl"] },
  INGESTION_HTTP_HOST: { path: ["http", "host"] },
  INGESTION_HTTP_PORT: { path: ["http", "port"], type: "int" },
} as const;

const USAGE = "usage: npm run ingestion -- [--config FILE]";

function hasInfluxSection(fromFile: unknown): boolean {
  return typeof fromFile === "object" && fromFile !== null && "influx" in fromFile;
}

runMain(async () => {
  const file = configFileFlag(process.argv.slice(2), USAGE);
  // Unset INFLUX_URL (and no influx section in the file) = no time-series writes: then a stray
  // INFLUX_TOKEN must not half-configure influx and fail validation.
  const env = { ...process.env };
  const fileHasInflux = file !== undefined && hasInfluxSection(readConfigFile(file));
  if (!env.INFLUX_URL && !fileHasInflux) for (const name of ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", "INFLUX_GZIP"]) delete env[name];
  const config = loadConfig(IngestionConfig, { file, env, envBindings: ENV_BINDINGS });
  const log = createLogger("ingestion");
  const ingestion = await startIngestion(config, { log });
  log.info({ mqtt: config.mqtt.url, dataDir: config.dataDir, partitioned: config.amqp !== undefined }, "ingestion started");
  closeOnSignals(() => ingestion.close(), log);
});
