import { closeOnSignals, configFileFlag, createLogger, loadConfig, readConfigFile, runMain } from "@bms/shared";
import { LiveConfig } from "@bms/shared/config/live-config";
import { startLive } from "./live-server";

const USAGE = "usage: npm run live -- [--config FILE]";

/** `npm run live -- [--config FILE]`: the live service on its own. */
runMain(async () => {
  const file = configFileFlag(process.argv.slice(2), USAGE);
  const env = { ...process.env };
  // No INFLUX_URL means history from the live buffer: the other INFLUX_* settings are then irrelevant.
  if (!env.INFLUX_URL) for (const name of ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", "HISTORY_QUERY_API"]) delete env[name];
  // ENGINEER_TOKEN adds to the file's tokens rather than replacing them, so it is merged by hand.
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const fileTokens = typeof fromFile === "object" && fromFile !== null && "engineerTokens" in fromFile ? fromFile.engineerTokens : undefined;
  const extraToken = env.ENGINEER_TOKEN ? [env.ENGINEER_TOKEN] : [];
  // A malformed engineerTokens is left as it is for the schema to report.
  const engineerTokens = extraToken.length === 0 || !Array.isArray(fileTokens) ? (fileTokens ?? extraToken) : [...fileTokens, ...extraToken];
  const config = loadConfig(LiveConfig, {
    file,
    env,
    envBindings: {
      HTTP_PORT: { path: ["http", "port"], type: "int" },
      MQTT_URL: { path: ["mqtt", "url"] },
      DATA_DIR: { path: ["dataDir"] },
      TOKENS_FILE: { path: ["tokensFile"] },
      INFLUX_URL: { path: ["influx", "url"] },
      INFLUX_TOKEN: { path: ["influx", "token"] },
      INFLUX_ORG: { path: ["influx", "org"] },
      INFLUX_BUCKET: { path: ["influx", "bucket"] },
      HISTORY_QUERY_API: { path: ["influx", "queryApi"] },
      GRAFANA_URL: { path: ["grafanaUrl"] },
      DATABASE_URL: { path: ["databaseUrl"] },
      REDIS_URL: { path: ["redisUrl"] },
      SMTP_URL: { path: ["reports", "smtpUrl"] },
    },
    overrides: { engineerTokens },
  });
  const log = createLogger("live");
  const live = await startLive(config, { log });
  log.info({ url: live.url }, "live service started; console at /");
  closeOnSignals(() => live.close(), log);
});
