import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AedesBroker, startAedesBroker } from "../../../test/support/aedes-broker";
import { runScript } from "../../../test/support/cli";
import { freePort, waitFor } from "../../../test/support/free-port";
import { cpuSecondsOf, rssOf } from "../../../test/support/process-usage";
import { makeTempDir } from "../../../test/support/temp-dir";

/**
 * The live service as its own process (`npm run live -- --config FILE`) on an in-process aedes
 * broker, so that its memory can be read apart from the test's: the flood test and the live bench.
 */
export interface LiveProcess {
  url: string;
  broker: AedesBroker;
  pid: number;
  /** Resident memory of the live process, bytes (Linux /proc). */
  rssBytes(): number;
  /** CPU time the live process used so far (user + system), seconds (Linux /proc). */
  cpuSeconds(): number;
  /** The value of one metric line on /metrics (summed over its labels when `labels` is not given). */
  metric(name: string, labels?: string): Promise<number>;
  output(): string;
  stop(): Promise<void>;
}

export async function startLiveProcess(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<LiveProcess> {
  const broker = await startAedesBroker();
  const dir = makeTempDir("bms-live-proc-");
  const port = await freePort();
  const file = join(dir.path, "live.json");
  writeFileSync(file, JSON.stringify({ http: { host: "127.0.0.1", port }, mqtt: { url: broker.url }, dataDir: dir.path, ...config }));
  const script = runScript("services/live/src/main.ts", ["--config", file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn", ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (script.child.exitCode === null && script.child.signalCode === null) {
      script.child.kill("SIGTERM");
      const killer = setTimeout(() => script.child.kill("SIGKILL"), 5000);
      await script.exited;
      clearTimeout(killer);
    }
    await broker.stop();
    dir.remove();
  };
  try {
    await waitFor(
      async () => {
        if (script.child.exitCode !== null) throw new Error(`the live service exited: ${script.output()}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      30_000,
      "the live service process to be ready",
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${script.output()}`);
  }
  const pid = script.child.pid;
  if (pid === undefined) throw new Error("the live service has no pid");
  return {
    url,
    broker,
    pid,
    rssBytes: () => rssOf(pid),
    cpuSeconds: () => cpuSecondsOf(pid),
    async metric(name, labels) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const lines = text
        .split("\n")
        .filter((l) => (labels === undefined ? l.startsWith(`${name} `) || l.startsWith(`${name}{`) : l.startsWith(`${name}{${labels}}`)));
      return lines.reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
    },
    output: script.output,
    stop,
  };
}
