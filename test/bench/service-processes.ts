import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { INGESTION_NODE_FLAGS } from "../../services/ingestion/src/node-flags";
import { type RunningScript, runScript } from "../support/cli";
import { canConnect, freePort, waitFor } from "../support/free-port";

/**
 * A service started as deployed: its bundle (`npm run build`) under plain node, in a process of
 * its own, from a config file; for the benches that must not share an event loop with the load
 * they generate.
 */
export interface ServiceProcess {
  script: RunningScript;
  /** The MQTT URL (broker) or the HTTP base URL (ingestion, live). */
  url: string;
  stop(): Promise<void>;
}

type Part = "broker" | "ingestion" | "live";

/** The flags each part is shipped with. */
const NODE_FLAGS: Record<Part, readonly string[]> = { broker: [], ingestion: INGESTION_NODE_FLAGS, live: [] };

const BUNDLES: Record<Part, string> = {
  broker: "services/broker/dist/main.js",
  ingestion: "services/ingestion/dist/main.js",
  live: "services/live/dist/main.js",
};

/**
 * Starts `part` with `config` (its port is added: `port` for the broker, `http.port` otherwise) and
 * waits until it listens (broker) or answers /healthz with 200 (ingestion, live).
 */
export async function startServiceProcess(part: Part, dir: string, config: Record<string, unknown>): Promise<ServiceProcess> {
  const port = await freePort();
  const file = join(dir, `${part}.json`);
  const withPort = part === "broker" ? { ...config, host: "127.0.0.1", port } : { ...config, http: { ...(config.http as object), port } };
  writeFileSync(file, JSON.stringify(withPort));
  const script = runScript(BUNDLES[part], ["--config", file], {
    via: "built",
    env: { PATH: process.env.PATH, LOG_LEVEL: "error" },
    nodeFlags: NODE_FLAGS[part],
  });
  const url = part === "broker" ? `mqtt://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (script.child.exitCode !== null || script.child.signalCode !== null) return;
    script.child.kill("SIGTERM");
    const killer = setTimeout(() => script.child.kill("SIGKILL"), 10_000);
    await script.exited;
    clearTimeout(killer);
  };
  try {
    await waitFor(
      async () => {
        if (script.child.exitCode !== null) throw new Error(`the ${part} exited: ${script.output()}`);
        if (part === "broker") return canConnect(port);
        return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
      },
      30_000,
      `the ${part} process to be ready`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { script, url, stop };
}
