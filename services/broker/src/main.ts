import { parseArgs } from "node:util";
import { ConfigError, createLogger, runMain } from "@bms/shared";
import { loadBrokerConfig } from "./load-broker-config";
import { startBroker } from "./start-broker";

const USAGE = "usage: npm run broker -- [--config FILE] (JSON or YAML; MQTT_PORT overrides the port)";

runMain(async () => {
  let file: string | undefined;
  try {
    ({
      values: { config: file },
    } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError("command line", [err instanceof Error ? err.message : String(err), USAGE]);
  }
  const config = loadBrokerConfig(file);
  const log = createLogger("broker");
  if (config.users.length === 0 && !config.allowAnonymous) {
    log.warn("no users configured and allowAnonymous is false: every client will be refused");
  }
  const broker = await startBroker(config, { log });
  const shutdown = (signal: string) => {
    log.info({ signal }, "shutting down");
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
});
