import { createServer, type Socket } from "node:net";
import { Aedes } from "aedes";

export interface AedesBroker {
  url: string;
  port: number;
  /** The broker itself, to watch what is published (`aedes.on("publish", ...)`). */
  aedes: Aedes;
  /** Stops accepting and cuts every connection abruptly (like a crashed broker or a lost link), then closes the broker. */
  stop(): Promise<void>;
  /** Cuts the client connections without a DISCONNECT: their last wills fire. */
  dropConnections(): void;
}

/**
 * An in-process aedes MQTT broker (in-memory persistence, so offline sessions keep their messages)
 * on 127.0.0.1: on a free port, or on `port` to bring a broker back where clients expect it.
 */
export async function startAedesBroker(options: { port?: number } = {}): Promise<AedesBroker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    aedes.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  let stopped: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    aedes,
    dropConnections,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        dropConnections();
        await closed;
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
      })();
      return stopped;
    },
  };
}
