import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, statSync, writeFileSync } from "node:fs";
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

export interface MosquittoOptions {
  /** Accounts, written to a password file with mosquitto_passwd; with any, anonymous clients are refused. */
  users?: Readonly<Record<string, string>>;
  /** Lines of an ACL file (`acl_file`). */
  acl?: readonly string[];
  /** More global lines of mosquitto.conf. */
  settings?: readonly string[];
  /** Lines under the listener (e.g. `cafile`, `certfile`, `keyfile` for TLS). */
  listener?: readonly string[];
  /** Files and folders the config names, to be made readable by Mosquitto's own user (it drops root). */
  readable?: readonly string[];
}

/**
 * Starts Mosquitto 2 (Debian package `mosquitto`) on a free port, in-memory: anonymous by default,
 * or with accounts, an ACL and any settings given.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoServer> {
  const binary = requireBinary("mosquitto", "mosquitto");
  const dir = makeTempDir("bms-mosquitto-");
  const port = await freePort();
  const conf = join(dir.path, "mosquitto.conf");
  const lines = ["persistence false", "max_queued_messages 100000", ...(options.settings ?? [])];
  if (options.users) {
    const passwd = join(dir.path, "passwd");
    for (const [i, [user, password]] of Object.entries(options.users).entries()) {
      execFileSync(requireBinary("mosquitto_passwd", "mosquitto"), ["-b", ...(i === 0 ? ["-c"] : []), passwd, user, password], { stdio: "ignore" });
    }
    lines.push("allow_anonymous false", `password_file ${passwd}`);
  } else {
    lines.push("allow_anonymous true");
  }
  if (options.acl) {
    const acl = join(dir.path, "acl");
    writeFileSync(acl, `${options.acl.join("\n")}\n`);
    lines.push(`acl_file ${acl}`);
  }
  lines.push(`listener ${port} 127.0.0.1`, ...(options.listener ?? []), "");
  writeFileSync(conf, lines.join("\n"));
  // Mosquitto started as root drops to its own user: it must be able to read these test-only files.
  chmodSync(dir.path, 0o755);
  for (const name of readdirSync(dir.path)) chmodSync(join(dir.path, name), 0o644);
  for (const path of options.readable ?? []) chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
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
