import { closeOnSignals, configFileFlag, createLogger, runMain } from "@bms/shared";
import { loadBrokerConfig } from "./load-broker-config";
import { startBroker } from "./start-broker";

const USAGE = "usage: npm run broker -- [--config FILE] (JSON or YAML; MQTT_PORT and DATA_DIR override it)";

/** `npm run broker -- [--config FILE]`: the aedes broker on its own. */
runMain(async () => {
  const file = configFileFlag(process.argv.slice(2), USAGE);
  const config = loadBrokerConfig(file);
  const log = createLogger("broker");
  if (config.users.length === 0 && !config.allowAnonymous) {
    log.warn("no users configured and allowAnonymous is false: every client will be refused");
  }
  const broker = await startBroker(config, { log });
  closeOnSignals(() => broker.close(), log);
});
