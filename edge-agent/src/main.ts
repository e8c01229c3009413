import { closeOnSignals, configFileFlag, createLogger, runMain } from "@bms/shared";
import { loadEdgeAgentConfig } from "./agent-config";
import { startEdgeAgent } from "./edge-agent";

const USAGE = "usage: npm run agent -- --config FILE (JSON or YAML; DATA_DIR and MQTT_URL override it)";

/** `npm run agent -- --config FILE`: the edge agent of one site. */
runMain(async () => {
  const file = configFileFlag(process.argv.slice(2), USAGE, { required: true });
  const config = loadEdgeAgentConfig(file!);
  const log = createLogger("edge-agent");
  const agent = await startEdgeAgent(config, { log });
  closeOnSignals(() => agent.close(), log, { siteId: config.siteId });
});
