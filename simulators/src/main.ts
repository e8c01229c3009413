import { closeOnSignals, createLogger, runMain } from "@bms/shared";
import { runFast, scenarioFromFlags, startFleet, startSimulator } from "./control/run-simulator";
import { parseSimulatorFlags, USAGE, wantsHelp } from "./simulator-flags";

runMain(async () => {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseSimulatorFlags(argv, process.env);
  if (options.fast) {
    process.stdout.write(`${JSON.stringify(runFast(scenarioFromFlags(options)), null, 2)}\n`);
    return;
  }
  if (options.fleet !== undefined) {
    const fleet = await startFleet(options);
    // The fleet manifest goes to stdout as one JSON document, for demo scripts and benchmarks.
    process.stdout.write(`${JSON.stringify(fleet.manifest)}\n`);
    closeOnSignals(() => fleet.close(), createLogger("simulator"));
    return;
  }
  const running = await startSimulator(options);
  closeOnSignals(() => running.close(), createLogger("simulator"));
});
