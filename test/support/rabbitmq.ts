import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { requireBinary } from "./binaries";
import { startProcess } from "./child-process";
import { canConnect, freePort, waitFor } from "./free-port";
import { makeTempDir } from "./temp-dir";

const DEBIAN_PACKAGE = "rabbitmq-server";
/** Debian's wrapper in /usr/sbin switches to the `rabbitmq` user and its fixed directories; this is the server itself. */
const RABBITMQ_BIN = "/usr/lib/rabbitmq/bin";
const ERLANG_BIN = "/usr/lib/erlang/bin";

export interface RabbitMqServer {
  /** amqp://guest:guest@127.0.0.1:PORT */
  amqpUrl: string;
  /** mqtt://127.0.0.1:PORT: the MQTT plugin's listener (anonymous, publishes to amq.topic). */
  mqttUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's RabbitMQ (3.10, package `rabbitmq-server`) without its system service: a node of
 * its own name, with its config, plugins file (MQTT and consistent-hash exchange), Mnesia and logs
 * in a temporary directory, AMQP and MQTT on free ports of 127.0.0.1, and an epmd of its own on a
 * free port (stopped with it). Anonymous MQTT logins are the `guest` user. Up in 5-20 s.
 */
export async function startRabbitMq(): Promise<RabbitMqServer> {
  const server = join(RABBITMQ_BIN, "rabbitmq-server");
  if (!existsSync(server)) throw new Error(`the tests need ${server}: install the Debian package '${DEBIAN_PACKAGE}' (apt-get install -y ${DEBIAN_PACKAGE})`);
  const epmd = requireBinary("epmd", DEBIAN_PACKAGE, [ERLANG_BIN]);
  const dir = makeTempDir("bms-rabbitmq-");
  const [amqpPort, mqttPort, distPort, epmdPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const conf = join(dir.path, "rabbitmq.conf");
  writeFileSync(
    conf,
    [
      `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
      `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
      "mqtt.allow_anonymous = true",
      "loopback_users = none",
      "log.console = true",
      "log.console.level = warning",
      "log.file = false",
      "",
    ].join("\n"),
  );
  const plugins = join(dir.path, "enabled_plugins");
  writeFileSync(plugins, "[rabbitmq_mqtt,rabbitmq_consistent_hash_exchange].\n");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    // The Erlang cookie goes to $HOME.
    HOME: dir.path,
    RABBITMQ_CONFIG_FILE: conf,
    RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
    RABBITMQ_MNESIA_BASE: join(dir.path, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir.path, "log"),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir.path, "plugins-expand"),
    RABBITMQ_PID_FILE: join(dir.path, "rabbitmq.pid"),
    RABBITMQ_NODENAME: `bms-test-${amqpPort}@localhost`,
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
  };
  const proc = startProcess(server, [], { env });
  const stopEpmd = () => promisify(execFile)(epmd, ["-port", String(epmdPort), "-kill"], { env }).catch(() => undefined);
  const stop = async () => {
    await proc.stop();
    await stopEpmd();
    dir.remove();
  };
  try {
    await waitFor(async () => (await canConnect(amqpPort)) && (await canConnect(mqttPort)), 90_000, "RabbitMQ to listen on AMQP and MQTT");
  } catch (err) {
    await stop();
    throw new Error(`RabbitMQ did not start: ${(err as Error).message}\n${proc.output()}`);
  }
  return { amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, stop };
}
