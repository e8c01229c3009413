import { parseArgs } from "node:util";
import { ConfigError, createLogger, runMain } from "@bms/shared";
import { loadEdgeAgentConfig } from "./agent-config";
import { startEdgeAgent } from "./edge-agent";

const USAGE = "usage: npm run agent -- --config FILE (JSON or YAML; DATA_DIR and MQTT_URL override it)";

runMain(async () => {
  let file: string | undefined;
  try {
    ({
      values: { config: file },
    } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true }));
  } catch (err) {
    throw new ConfigError("command line", [`${(err as Error).message}`, USAGE]);
  }
  if (!file) throw new ConfigError("command line", ["--config: expected a file", USAGE]);
  const config = loadEdgeAgentConfig(file);
  const log = createLogger("edge-agent");
  const agent = await startEdgeAgent(config, { log });
  const shutdown = (signal: string) => {
    log.info({ siteId: config.siteId, signal }, "shutting down");
    agent.close().then(
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
