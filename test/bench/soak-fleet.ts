import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LIVE_NAMESPACE } from "@bms/shared";
import { io, type Socket } from "socket.io-client";
import { AGENT_NODE_FLAGS } from "../../edge-agent/src/node-flags";
import { INGESTION_NODE_FLAGS } from "../../services/ingestion/src/node-flags";
import { REPO_ROOT } from "../support/cli";
import { canConnect, freePort, waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../support/victoria-metrics";

/** The parts a fleet runs, each as its own process from its bundle (`npm run build`). */
export const PARTS = ["broker", "ingestion", "live", "simulator", "agent"] as const;
export type Part = (typeof PARTS)[number];

const BUNDLES: Record<Part, string> = {
  broker: "services/broker/dist/main.js",
  ingestion: "services/ingestion/dist/main.js",
  live: "services/live/dist/main.js",
  simulator: "simulators/dist/main.js",
  agent: "edge-agent/dist/main.js",
};

const SITE = "soak-site";
const TOKEN = "soak-engineer-token-0123456789";
const PASSWORD = "soak-password-0123456789";

export interface SoakFleet {
  packs: number;
  pids: Record<Part, number>;
  /** Samples the engineer's socket.io client received so far. */
  samplesReceived(): number;
  /** A part that exited, with the end of its log; undefined while all run. */
  exited(): string | undefined;
  close(): Promise<void>;
}

/**
 * One independent system, as `npm start` wires it but a process per part: a broker with accounts,
 * the ingestion writing to its own VictoriaMetrics, the live service with an engineer's socket.io
 * client subscribed to the site, a simulator of `packs` healthy SunSpec packs (unit IDs 1..packs
 * on one Modbus TCP port) and an edge agent polling them at 1 Hz. Logs and data in a temporary dir.
 */
export async function startSoakFleet(packs: number): Promise<SoakFleet> {
  const dir = makeTempDir(`bms-soak-${packs}-`);
  const children: Array<{ part: Part; child: ReturnType<typeof spawn>; log: string }> = [];
  let victoria: VictoriaMetricsServer | undefined;
  let engineer: Socket | undefined;
  let received = 0;
  const writeConfig = (part: Part, config: unknown) => {
    const file = join(dir.path, `${part}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const start = (part: Part, args: string[], nodeFlags: readonly string[] = []) => {
    if (!existsSync(join(REPO_ROOT, BUNDLES[part]))) throw new Error(`${BUNDLES[part]} is missing: run npm run build first`);
    const log = join(dir.path, `${part}.log`);
    const out = openSync(log, "a");
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn" };
    const child = spawn(process.execPath, [...nodeFlags, "--enable-source-maps", BUNDLES[part], ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", out, out],
    });
    children.push({ part, child, log });
  };
  const exited = () => {
    const dead = children.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
    return dead && `${dead.part} (${packs} packs) exited: ${readFileSync(dead.log, "utf8").slice(-2000)}`;
  };
  const ready = (what: string, check: () => Promise<boolean>) =>
    waitFor(
      async () => {
        const dead = exited();
        if (dead) throw new Error(dead);
        return check();
      },
      60_000,
      `${what} (${packs} packs)`,
    ).catch((err: Error) => {
      throw new Error(exited() ?? err.message);
    });
  const close = async () => {
    engineer?.close();
    // The agent first, then the parts it feeds, so none logs the loss of the next hop.
    for (const { child } of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await victoria?.stop();
    dir.remove();
  };
  try {
    victoria = await startVictoriaMetrics();
    const [mqttPort, httpPort, modbusPort] = [await freePort(), await freePort(), await freePort()];
    const mqtt = (username: string) => ({ url: `mqtt://127.0.0.1:${mqttPort}`, username, password: PASSWORD });
    start("broker", [
      "--config",
      writeConfig("broker", {
        host: "127.0.0.1",
        port: mqttPort,
        dataDir: dir.path,
        users: [
          { username: "agent", password: PASSWORD, role: "agent", siteId: SITE },
          { username: "ingestion", password: PASSWORD, role: "service" },
          { username: "live", password: PASSWORD, role: "service" },
        ],
      }),
    ]);
    await ready("the broker", () => canConnect(mqttPort));
    start(
      "ingestion",
      ["--config", writeConfig("ingestion", { mqtt: mqtt("ingestion"), influx: { url: victoria.url }, dataDir: dir.path })],
      INGESTION_NODE_FLAGS,
    );
    const liveConfig = { http: { host: "127.0.0.1", port: httpPort }, mqtt: mqtt("live"), dataDir: dir.path, engineerTokens: [TOKEN] };
    start("live", ["--config", writeConfig("live", liveConfig)]);
    await ready("the live service", async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok);
    engineer = io(`http://127.0.0.1:${httpPort}${LIVE_NAMESPACE}`, { auth: { token: TOKEN }, transports: ["websocket"] });
    engineer.on("sample", () => {
      received++;
    });
    await engineer.timeout(10_000).emitWithAck("subscribe", { siteId: SITE });
    start("simulator", ["--host", "127.0.0.1", "--port", String(modbusPort), "--packs", String(packs), "--scenario", "healthy"]);
    await ready("the simulator", () => canConnect(modbusPort));
    const devices = Array.from({ length: packs }, (_, i) => ({
      packId: `pack-${i + 1}`,
      transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbusPort, unitId: i + 1 },
      chemistry: "LFP",
    }));
    start("agent", ["--config", writeConfig("agent", { siteId: SITE, mqtt: mqtt("agent"), dataDir: dir.path, devices })], AGENT_NODE_FLAGS);
    await ready("the first samples on socket.io", async () => received > 0);
  } catch (err) {
    await close();
    throw err;
  }
  const pids = Object.fromEntries(children.map(({ part, child }) => [part, child.pid ?? 0])) as Record<Part, number>;
  return { packs, pids, samplesReceived: () => received, exited, close };
}

/** Resident memory of a process, MiB (VmRSS in /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) / 1024;
}
