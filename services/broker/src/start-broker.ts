import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { createLogger, isAddressInUse, type Logger, PortInUseError } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { authorizePublishTopic, authorizeSubscribeTopic } from "./broker-acl";
import { createCredentialChecker } from "./broker-credentials";
import { type BrokerIdentity, describeIdentity } from "./broker-identity";

export interface RunningBroker {
  port: number;
  /** mqtt://127.0.0.1:PORT, for clients on this machine. */
  url: string;
  aedes: Aedes;
  /** Disconnects every client and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  /** @default createLogger("broker") */
  log?: Logger;
}

/** Keeps a hostile 1 MB username or topic out of the logs. */
function preview(text: string | undefined, max = 128): string | undefined {
  if (text === undefined) return undefined;
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

function remoteAddress(client: Client): string | undefined {
  const conn = client.conn;
  return "remoteAddress" in conn ? conn.remoteAddress : undefined;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(isAddressInUse(err) ? new PortInUseError(port, "MQTT_PORT") : err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/**
 * Starts the embedded MQTT broker (aedes, MQTT 3.1.1) with per-user passwords and the topic ACL of
 * broker-acl.ts. Logs one line per refused connection, publish or subscription, none per message.
 */
export async function startBroker(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const log = options.log ?? createLogger("broker");
  const identities = new WeakMap<Client, BrokerIdentity>();
  const checkCredentials = createCredentialChecker(config.users, config.allowAnonymous);

  const aedes = await Aedes.createBroker({
    drainTimeout: config.drainTimeoutMs,
    authenticate(client, username, password, done) {
      const result = checkCredentials(username, password);
      if (result.ok) {
        identities.set(client, result.identity);
        done(null, true);
        return;
      }
      log.warn(
        { clientId: preview(client.id), username: preview(username), remoteAddress: remoteAddress(client), reason: result.reason },
        "connection refused",
      );
      const error: AuthenticateError = Object.assign(new Error(result.reason), { returnCode: result.returnCode });
      done(error, false);
    },
    authorizePublish(client, packet, done) {
      // null: the broker itself (e.g. a will replayed for a dead cluster peer).
      if (client === null) return done(null);
      const identity = identities.get(client);
      const decision = authorizePublishTopic(identity, packet.topic);
      if (decision.allowed) return done(null);
      log.warn(
        { clientId: preview(client.id), username: describeIdentity(identity), topic: preview(packet.topic), retain: packet.retain, reason: decision.reason },
        "publish refused; client disconnected",
      );
      // An error here makes aedes close the client: a misbehaving agent is cut off, not ignored.
      done(new Error(decision.reason));
    },
    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      const decision = authorizeSubscribeTopic(identity, subscription.topic);
      if (decision.allowed) return done(null, subscription);
      log.warn(
        { clientId: preview(client.id), username: describeIdentity(identity), topic: preview(subscription.topic), reason: decision.reason },
        "subscription refused",
      );
      // null grants nothing: the client gets SUBACK 0x80 for this filter and stays connected.
      done(null, null);
    },
  });
  // Protocol errors and the disconnects the ACL causes: already logged above where they matter.
  aedes.on("clientError", (client, err) => log.debug({ clientId: preview(client.id), err: err.message }, "client error"));
  aedes.on("connectionError", (client, err) => log.debug({ clientId: preview(client.id), err: err.message }, "connection error"));

  const server = createServer(aedes.handle);
  try {
    await listen(server, config.port, config.host);
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  log.info({ port, host: config.host, users: config.users.length, allowAnonymous: config.allowAnonymous }, "MQTT broker listening");

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    close() {
      closing ??= (async () => {
        const serverClosed = once(server, "close");
        server.close();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}
