import { closeOnSignals, createLogger, runMain } from "@bms/shared";
import { runFast, runSimulator, scenarioFromFlags } from "./control/run-simulator";
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
  const running = await runSimulator(options);
  // The fleet manifest goes to stdout as one JSON document, for demo scripts and benchmarks.
  if (running.fleet) process.stdout.write(`${JSON.stringify(running.fleet)}\n`);
  closeOnSignals(() => running.close(), createLogger("simulator"));
});
