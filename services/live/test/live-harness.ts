import type { CaseEvent, PackMeta, PackSample, SitePackSample } from "@bms/shared";
import { LiveConfig } from "@bms/shared/config/live-config";
import { type CaseStore, type FiringInput, openSqliteCaseStore, type SqliteCaseStore } from "@bms/storage";
import { connectAsync, type MqttClient } from "mqtt";
import { io, type Socket } from "socket.io-client";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { type RunningLive, startLive } from "../src/index";

/** An admin token (a plain string, like ENGINEER_TOKEN). */
export const TOKEN = "test-engineer-token-0123456789";
/** A viewer named Vera and an engineer named Ada. */
export const VIEWER_TOKEN = "test-viewer-token-0123456789";
export const ENGINEER_TOKEN = "test-field-engineer-token-0123";
/** An engineer named Sam who sees site-1 only. */
export const SITE1_TOKEN = "test-site-1-engineer-token-0123";

export interface Harness {
  live: RunningLive;
  /** The store the ingestion would write (cases and its rule ledger). */
  caseStore: SqliteCaseStore;
  /** A plain MQTT client on the test broker, to play agents and the ingestion. */
  mqtt: MqttClient;
  mqttUrl: string;
  /** The live service's data directory (its cases.db is `caseStore`'s file). */
  dataDir: string;
  publish(topic: string, payload: unknown): Promise<void>;
  /** Opens a socket.io client on /live with `auth` (default: the engineer token); await `connected()`. `from`: a local address to connect from. */
  socket(auth?: Record<string, unknown> | null, from?: string): Socket;
  close(): Promise<void>;
}

export function sample(overrides: Partial<PackSample> = {}): PackSample {
  return {
    v: 1,
    ts: Date.now(),
    seq: 1,
    packVoltage: 51.2,
    current: -12.5,
    soc: 76.5,
    soh: 98,
    cellVoltages: Array.from({ length: 16 }, (_, i) => 3.2 + i * 0.001),
    cellTemperatures: [24.5, 25.1, 26.0, 25.4],
    bmsAlarms: [],
    ...overrides,
  };
}

export function meta(overrides: Partial<PackMeta> = {}): PackMeta {
  return {
    v: 1,
    ts: Date.now(),
    manufacturer: "Acme",
    model: "LFP-48-100",
    serial: "SN-0001",
    bmsFirmware: "1.2.3",
    chemistry: "LFP",
    cellCount: 16,
    ratedCapacity: 100,
    warrantyStart: "2024-01-01",
    warrantyEnd: "2034-01-01",
    ...overrides,
  };
}

/** An aedes broker, a SQLite case store in a temp dir and the live service on free ports, ready (MQTT subscribed). */
export async function startHarness(configOverrides: Record<string, unknown> = {}): Promise<Harness> {
  const broker = await startAedesBroker();
  const dir: TempDir = makeTempDir("bms-live-");
  const caseStore = openSqliteCaseStore(`${dir.path}/cases.db`);
  const config = LiveConfig.parse({
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: broker.url },
    dataDir: dir.path,
    engineerTokens: [
      TOKEN,
      { token: VIEWER_TOKEN, role: "viewer", name: "Vera" },
      { token: ENGINEER_TOKEN, role: "engineer", name: "Ada" },
      { token: SITE1_TOKEN, role: "engineer", name: "Sam", sites: ["site-1"] },
    ],
    sampleTickMs: 50,
    // Off here: every test talks from 127.0.0.1, and several send wrong tokens on purpose (login-throttle.test.ts tests it).
    loginThrottleInitialMs: 0,
    ...configOverrides,
  });
  let live: RunningLive;
  try {
    live = await startLive(config, { caseStore });
  } catch (err) {
    // A config the service refuses: leave nothing running behind.
    await caseStore.close();
    await broker.stop();
    dir.remove();
    throw err;
  }
  await waitFor(async () => (await fetch(`${live.url}/healthz`)).ok, 10_000, "the live service to subscribe to MQTT");
  const mqtt = await connectAsync(broker.url, { reconnectPeriod: 0 });
  const sockets: Socket[] = [];
  return {
    live,
    caseStore,
    mqtt,
    mqttUrl: broker.url,
    dataDir: dir.path,
    publish: async (topic, payload) => {
      await mqtt.publishAsync(topic, typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), { qos: 1 });
    },
    socket: (auth = { token: TOKEN }, from) => {
      // localAddress reaches the websocket (engine.io-client passes it on) but is not in its option types.
      const local: object = from === undefined ? {} : { localAddress: from };
      const s = io(`${live.url}/live`, { ...(auth === null ? {} : { auth }), transports: ["websocket"], reconnection: false, forceNew: true, ...local });
      sockets.push(s);
      return s;
    },
    close: async () => {
      for (const s of sockets) s.close();
      await mqtt.endAsync(true);
      await live.close();
      await caseStore.close();
      await broker.stop();
      dir.remove();
    },
  };
}

/** Emits with an ack and resolves with the reply. */
export function emitWithAck<T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<T>;
}

/** Collects the samples and case events the live feed sends `socket`, from now on. */
export function collectFeed(socket: Socket): { samples: SitePackSample[]; cases: CaseEvent[] } {
  const samples: SitePackSample[] = [];
  const cases: CaseEvent[] = [];
  socket.on("sample", (s: SitePackSample) => samples.push(s));
  socket.on("case", (e: CaseEvent) => cases.push(e));
  return { samples, cases };
}

export function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

let firings = 0;

/** Opens a case the way the ingestion's rules do. */
export async function openCase(store: CaseStore, siteId: string, packId: string, ruleId = "cell-over-voltage", over: Partial<FiringInput> = {}) {
  const at = Date.now();
  const detail = "cell 5 reached 3.71 V (limit 3.65 V)";
  const { case: opened } = await store.recordFiring({
    siteId,
    packId,
    ruleId,
    severity: "major",
    title: `Cell over-voltage on ${packId}`,
    evidence: {
      sample: sample(),
      value: 3.71,
      threshold: 3.65,
      index: 4,
      detail,
      meta: meta(),
      bmsAlarms: ["OVER_VOLT_ALARM"],
      rulesFired: [{ ruleId, severity: "major", at, detail, role: "case" }],
    },
    warranty: {
      coverage: "in-warranty",
      warrantyStart: "2024-01-01",
      warrantyEnd: "2034-01-01",
      assessedAt: at,
      historySince: at - 86_400_000,
      exclusions: [],
      suggestion: "free",
      reason: "In warranty; no excluded condition in the pack's history.",
    },
    at,
    firingKey: `test-${++firings}-${at}`,
    escalation: false,
    attachTo: [],
    reopenWithinMs: 0,
    ...over,
  });
  return opened;
}

/** Walks a case through the process to closed, as an engineer would. */
export async function closeCase(store: CaseStore, id: string) {
  if ((await store.get(id))?.status === "open") await store.transition(id, "acknowledged", "admin", Date.now());
  if ((await store.get(id))?.status !== "resolved") await store.transition(id, "resolved", "admin", Date.now());
  await store.transition(id, "closed", "admin", Date.now());
  const closed = await store.get(id);
  if (!closed) throw new Error(`case ${id} vanished`);
  return closed;
}
