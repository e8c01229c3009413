import { closeOnSignals, createLogger, loadConfig, runMain } from "@bms/shared";
import { STACK_ENV_BINDINGS, StackConfig } from "@bms/shared/config/stack-config";
import { startStack } from "./stack";

/** `npm start`: the whole system with a simulated site, configured from the environment. */
runMain(async () => {
  const env = { ...process.env };
  // No INFLUX_URL means no time-series writes: the other INFLUX_* settings are then irrelevant.
  if (!env.INFLUX_URL) for (const name of ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"]) delete env[name];
  const config = loadConfig(StackConfig, { env, envBindings: STACK_ENV_BINDINGS });
  const log = createLogger("stack");
  const stack = await startStack(config, log);

  const lines = [
    "",
    "BMS telemetry is running with a simulated site.",
    `  console:        ${stack.consoleUrl}`,
    `  REST API:       ${stack.httpUrl}/api/cases   (Authorization: Bearer <token>)`,
    `  MQTT broker:    ${stack.mqttUrl}${config.mqttUrl ? " (external)" : " (embedded)"}`,
    `  simulator:      Modbus TCP on 127.0.0.1:${stack.simulator.port}, ${stack.simulator.packCount} packs, scenario ${config.simScenario}`,
    `  engineer token: ${stack.engineerToken}${stack.tokenGenerated ? " (generated; set ENGINEER_TOKEN to choose one)" : ""}`,
    config.influx
      ? `  time series:    InfluxDB API at ${config.influx.url}, bucket ${config.influx.bucket}`
      : "  time series:    not written: no INFLUX_URL set (set INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET)",
    `  data:           ${config.dataDir}`,
    "Ctrl-C stops it.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  closeOnSignals(() => stack.close(), log);
});
