import { connect as netConnect } from "node:net";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

/** PING answered with PONG. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: "127.0.0.1" }, () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.on("error", () => resolve(false));
  });
}

/** Starts Redis (Debian package `redis-server`, 7.0) on a free port of 127.0.0.1, in a temporary directory, without persistence. */
export async function startRedis(): Promise<RedisServer> {
  const binary = requireBinary("redis-server", "redis-server");
  const dir = makeTempDir("bms-redis-");
  const port = await freePort();
  const proc = startProcess(binary, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir.path,
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    "warning",
  ]);
  const stop = async () => {
    await proc.stop();
    dir.remove();
  };
  try {
    await waitFor(() => pong(port), 20_000, "Redis to answer PING");
  } catch (err) {
    await stop();
    throw new Error(`Redis did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
