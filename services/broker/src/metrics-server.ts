import { once } from "node:events";
import { createServer } from "node:http";
import type { Registry } from "prom-client";
import { boundPort, listen } from "./broker-listener";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** GET /metrics in the Prometheus text format, for a broker that runs on its own (`metrics` option). */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await listen(server, port, host, "metrics.port");
  return {
    url: `http://${host}:${boundPort(server, port)}/metrics`,
    async close() {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
