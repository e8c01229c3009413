import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterEach, expect } from "vitest";
import { type AedesBroker, startAedesBroker } from "../../../test/support/aedes-broker";
import { type RunningScript, runScript } from "../../../test/support/cli";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { connectPublisher } from "./ingestion-harness";

/** The ingestion as its own process (`npm run ingestion`) on a real broker, to be killed and restarted. */
export interface IngestionProcessBed {
  dir: TempDir;
  /** Connected to the test's broker, which keeps what the ingestion misses (persistent session). */
  publisher: MqttClient;
  /** Starts the ingestion command and waits until it says it started. */
  start(): Promise<RunningScript>;
  /** SIGKILL: no shutdown, nothing flushed. */
  kill(proc: RunningScript): Promise<void>;
}

/** Registers an afterEach that kills what is left and removes the broker and the data directory. */
export function useIngestionProcess(clientId: string): () => Promise<IngestionProcessBed> {
  let bed: (IngestionProcessBed & { broker: AedesBroker }) | undefined;
  const running: RunningScript[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL");
    await bed?.publisher.endAsync();
    await bed?.broker.stop();
    bed?.dir.remove();
    bed = undefined;
  });
  return async () => {
    const dir = makeTempDir(`bms-${clientId}-`);
    const broker = await startAedesBroker();
    const config = join(dir.path, "ingestion.json");
    writeFileSync(config, JSON.stringify({ mqtt: { url: broker.url, clientId, reconnectPeriodMs: 200 }, dataDir: dir.path }));
    const publisher = await connectPublisher(broker.url);
    bed = {
      dir,
      broker,
      publisher,
      async start() {
        const proc = runScript("services/ingestion/src/main.ts", ["--config", config], {
          via: "node",
          env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info" },
        });
        running.push(proc);
        await waitFor(() => proc.output().includes("ingestion started"), 30_000, `the ingestion to start:\n${proc.output()}`);
        return proc;
      },
      async kill(proc) {
        proc.child.kill("SIGKILL");
        expect(await proc.exited).toBeNull();
      },
    };
    return bed;
  };
}
