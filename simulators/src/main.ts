import { closeOnSignals, createLogger, runMain } from "@bms/shared";
import { parseSimulatorFlags, USAGE, wantsHelp } from "./simulator-flags";
import { startSunSpecSimulator } from "./sunspec-simulator";

runMain(async () => {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseSimulatorFlags(argv);
  const sim = await startSunSpecSimulator(options);
  const log = createLogger("simulator");
  closeOnSignals(() => sim.close(), log);
});
