import { createLogger, runMain } from "@bms/shared";
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
  const stop = (signal: string) => {
    log.info({ signal }, "stopping");
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
});
