import { once } from "node:events";
import { createServer } from "node:http";
import type { Server } from "node:net";
import { isAddressInUse, PortInUseError } from "./errors";

/** Where the Prometheus text comes from: prom-client's Registry has this shape. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** What `/healthz` answers: 200 when `ok`, else 503; the whole object is the JSON body. */
export type HealthProbe = () => { ok: boolean } & Record<string, unknown>;

export interface ProbeServerOptions {
  registry: MetricsSource;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The config path named when the port is taken, e.g. "metrics.port". */
  setting: string;
  /** Serves `/healthz` too. @default none (404) */
  health?: HealthProbe;
}

export interface ProbeServer {
  /** http://host:port (no path). */
  url: string;
  close(): Promise<void>;
}

/** Listens; a taken port rejects with a PortInUseError naming `setting`. */
export function listen(server: Server, port: number, host: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(isAddressInUse(err) ? new PortInUseError(port, setting) : err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** The port a listening server is bound to (`fallback` when it is not listening). */
export function boundPort(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : fallback;
}

/**
 * `GET /metrics` (Prometheus text) and `GET /healthz` for a service that runs without the live
 * service's HTTP server: the broker and the ingestion on their own, where a scraper and a
 * container healthcheck must reach them.
 */
export async function serveProbes(options: ProbeServerOptions): Promise<ProbeServer> {
  const { registry, health } = options;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (req.method === "GET" && req.url === "/healthz" && health) {
      const body = health();
      res.writeHead(body.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(body));
    } else {
      res.writeHead(404).end();
    }
  });
  await listen(server, options.port, options.host, options.setting);
  return {
    url: `http://${options.host}:${boundPort(server, options.port)}`,
    async close() {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
