import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Cuts every connection through it and refuses new ones (they are accepted and closed at once). */
  block(): void;
  /** Lets connections through again. */
  unblock(): void;
  stop(): Promise<void>;
}

/**
 * A TCP proxy on a free port of 127.0.0.1 to `targetPort`: a test uses it to decide when one client
 * (say the ingestion) can reach a server again, whatever its reconnect timer.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let blocked = false;
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    if (blocked) {
      inbound.destroy();
      return;
    }
    const outbound = connect({ port: targetPort, host: "127.0.0.1" });
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const cutAll = () => {
    for (const s of open) s.destroy();
  };
  return {
    port,
    block() {
      blocked = true;
      cutAll();
    },
    unblock() {
      blocked = false;
    },
    async stop() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
