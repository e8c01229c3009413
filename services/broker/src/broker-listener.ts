import { readFileSync } from "node:fs";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { ConfigError } from "@bms/shared";
import type { BrokerTlsConfig } from "@bms/shared/config/broker-config";

/** The MQTT listener: plain TCP, or TLS (mqtts) when `tls` is given; `onConnection` gets each (decrypted) connection. */
export function createListener(tls: BrokerTlsConfig | undefined, onConnection: (conn: Socket) => void): Server {
  if (!tls) return createTcpServer(onConnection);
  const problems: string[] = [];
  const read = (field: keyof Pick<BrokerTlsConfig, "certFile" | "keyFile" | "caFile">): Buffer | undefined => {
    const path = tls[field];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`tls.${field}: cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const cert = read("certFile");
  const key = read("keyFile");
  const ca = read("caFile");
  if (problems.length > 0) throw new ConfigError("broker", problems);
  return createTlsServer({ cert, key, ...(ca ? { ca } : {}), requestCert: tls.requestCert, rejectUnauthorized: tls.requestCert }, onConnection);
}
