import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { canConnect, freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

export interface MosquittoServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts Mosquitto 2 (Debian package `mosquitto`) on a free port, anonymous, in-memory. */
export async function startMosquitto(): Promise<MosquittoServer> {
  const binary = requireBinary("mosquitto", "mosquitto");
  const dir = makeTempDir("bms-mosquitto-");
  const port = await freePort();
  const conf = join(dir.path, "mosquitto.conf");
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "max_queued_messages 100000", ""].join("\n"));
  const proc = startProcess(binary, ["-c", conf]);
  try {
    await waitFor(() => canConnect(port), 10_000, "Mosquitto to listen");
  } catch (err) {
    await proc.stop();
    dir.remove();
    throw new Error(`Mosquitto did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      await proc.stop();
      dir.remove();
    },
  };
}
