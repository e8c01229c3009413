import { join } from "node:path";
import { type RunningBroker, startBroker } from "@bms/broker";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { type RunningLive, startLive } from "@bms/live";
import { type CommandRecord, LIVE_NAMESPACE, type PackSample, parseConfig, type SupportCase } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import { loadDeviceProfile, parseScenario, type RunningModbusTcpServer, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";
import { type CaseStore, openSqliteCaseStore } from "@bms/storage";
import mqtt from "mqtt";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/cli";
import { waitFor } from "../support/free-port";
import { makeTempDir, type TempDir } from "../support/temp-dir";

/**
 * Remote diagnosis through the real parts: an engineer posts a command to the live service, which
 * publishes it through the embedded broker (accounts and ACL on) to the site's agent, which runs it
 * against a simulated vendor-profile BMS over Modbus TCP and reports back; the engineer polls it
 * and sees it on socket.io, and the case's timeline records it.
 */
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");
const ADMIN = "rd-admin-token-0123456789";
const ENGINEER = "rd-engineer-token-0123456789";
const VIEWER = "rd-viewer-token-0123456789";
const SITE2_ENGINEER = "rd-site-2-token-0123456789";
const AGENT1 = { username: "agent-site-1", password: "agent-1-password" };
const AGENT2 = { username: "agent-site-2", password: "agent-2-password" };
const LIVE = { username: "live", password: "live-password-0" };

let dir: TempDir;
let broker: RunningBroker;
let sim: RunningModbusTcpServer;
let runner: ScenarioRunner;
let live: RunningLive;
let caseStore: CaseStore;
const agents: RunningAgent[] = [];
let socket: Socket;
/** The over-temperature case the first test opens on site-1/pack-1. */
let caseId = "";
const socketCommands: CommandRecord[] = [];

async function api(path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${live.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Posts a command and polls it until it is final. */
async function run(packId: string, body: Record<string, unknown>, token = ENGINEER, siteId = "site-1"): Promise<CommandRecord> {
  const posted = await api(`/api/packs/${siteId}/${packId}/commands`, token, body);
  expect(posted.status, JSON.stringify(posted.json)).toBe(202);
  expect(posted.json.status).toBe("pending");
  const id = String(posted.json.id);
  let record: CommandRecord | undefined;
  await waitFor(
    async () => {
      record = (await api(`/api/commands/${id}`, token)).json as unknown as CommandRecord;
      return !["pending", "sent"].includes(record.status);
    },
    20_000,
    `command ${id} to finish`,
  );
  if (!record) throw new Error("no record");
  return record;
}

function agentConfig(siteId: string, account: typeof AGENT1, commands: Record<string, unknown>) {
  return parseConfig(
    EdgeAgentConfig,
    {
      siteId,
      mqtt: { url: broker.url, ...account, reconnectPeriodMs: 200 },
      pollIntervalMs: 500,
      dataDir: join(dir.path, siteId),
      commands,
      devices: [
        {
          packId: "pack-1",
          transport: { kind: "modbus-tcp", host: "127.0.0.1", port: sim.port, unitId: siteId === "site-1" ? 1 : 2 },
          profile: { file: VENDOR_PROFILE },
        },
      ],
    },
    "remote-diagnosis test",
  );
}

beforeAll(async () => {
  dir = makeTempDir("bms-remote-diagnosis-");
  broker = await startBroker(
    parseConfig(
      BrokerConfig,
      {
        host: "127.0.0.1",
        port: 0,
        dataDir: join(dir.path, "broker"),
        users: [
          { ...AGENT1, role: "agent", siteId: "site-1" },
          { ...AGENT2, role: "agent", siteId: "site-2" },
          { ...LIVE, role: "service", commands: true },
        ],
      },
      "remote-diagnosis test",
    ),
  );
  // Unit 1 overheated and cooled again: OVER_TEMP_ALARM latched, logged and counted by the BMS.
  runner = new ScenarioRunner(parseScenario({ name: "rd", seed: 3, packs: 2, packDefaults: { load: { kind: "constant", amps: -20 } } }));
  runner.injectFault(1, { kind: "over-temperature", ratePerSecond: 5, maxC: 60 });
  runner.advance(10);
  runner.clearFaults(1);
  runner.advance(3600);
  sim = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
  caseStore = openSqliteCaseStore(join(dir.path, "cases.db"));
  live = await startLive(
    parseConfig(
      LiveConfig,
      {
        http: { host: "127.0.0.1", port: 0 },
        mqtt: { url: broker.url, ...LIVE },
        dataDir: dir.path,
        engineerTokens: [
          { token: ADMIN, role: "admin", name: "Ada" },
          { token: ENGINEER, role: "engineer", name: "Erin" },
          { token: VIEWER, role: "viewer", name: "Vera" },
          { token: SITE2_ENGINEER, role: "engineer", name: "Sam", sites: ["site-2"] },
        ],
        loginThrottleInitialMs: 0,
      },
      "remote-diagnosis test",
    ),
    { caseStore, commandRepublishMs: 300 },
  );
  await waitFor(async () => (await fetch(`${live.url}/healthz`)).ok, 10_000, "the live service to subscribe");
  agents.push(await startEdgeAgent(agentConfig("site-1", AGENT1, { setParameter: true })));
  agents.push(await startEdgeAgent(agentConfig("site-2", AGENT2, {})));
  socket = io(`${live.url}${LIVE_NAMESPACE}`, { auth: { token: ENGINEER }, transports: ["websocket"], reconnection: false });
  socket.on("command", (r: CommandRecord) => socketCommands.push(r));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("connect_error", reject));
  expect(await socket.timeout(5000).emitWithAck("subscribe", { siteId: "site-1", packId: "pack-1" })).toMatchObject({ ok: true });
  await waitFor(() => agents.every((a) => a.health().mqttConnected), 10_000, "the agents to connect");
}, 60_000);

afterAll(async () => {
  socket?.close();
  for (const a of agents) await a.close();
  await live?.close();
  await caseStore?.close();
  await sim?.close();
  await broker?.close();
  dir?.remove();
});

describe("remote diagnosis, engineer → live → broker → agent → BMS → back", () => {
  it("reads the BMS's event log for a case: the result by polling and on socket.io, on the case's timeline and in its evidence", async () => {
    const opened = await caseStore.recordFiring({
      siteId: "site-1",
      packId: "pack-1",
      ruleId: "over-temperature",
      severity: "major",
      title: "Over-temperature on pack-1",
      evidence: {
        sample: null,
        value: 61,
        threshold: 55,
        index: 0,
        detail: "sensor 1 at 61 °C",
        meta: null,
        bmsAlarms: ["OVER_TEMP_ALARM"],
        rulesFired: [],
      },
      warranty: null,
      at: Date.now(),
      firingKey: `rd-${Date.now()}`,
      escalation: false,
      attachTo: [],
      reopenWithinMs: 0,
    });
    caseId = opened.case.id;
    const record = await run("pack-1", { kind: "read-event-log", caseId });
    expect(record).toMatchObject({ status: "succeeded", kind: "read-event-log", requestedBy: "Erin", caseId, siteId: "site-1", packId: "pack-1" });
    const history = record.result as { events: { code: string }[]; counters: Record<string, number> };
    expect(history.events.map((e) => e.code)).toContain("OVER_TEMP_ALARM");
    expect(history.counters.overTemperature).toBeGreaterThanOrEqual(1);
    await waitFor(() => socketCommands.some((r) => r.id === record.id && r.status === "succeeded"), 5000, "the command on socket.io");
    expect(socketCommands.filter((r) => r.id === record.id).map((r) => r.status)).toEqual(expect.arrayContaining(["pending", "sent", "succeeded"]));

    const withCase = (await api(`/api/cases/${caseId}`, ENGINEER)).json as unknown as SupportCase;
    const entries = (withCase.timeline ?? []).filter((e) => e.kind === "command" || e.kind === "command-result");
    expect(entries.map((e) => [e.kind, e.actor])).toEqual([
      ["command", "Erin"],
      ["command-result", "Erin"],
    ]);
    expect(entries[1]?.message).toMatch(/overTemperature [1-9]/);
    expect(withCase.evidence.bmsHistory).toMatchObject({
      commandId: record.id,
      previous: null,
      counters: { overTemperature: history.counters.overTemperature },
    });
  });

  it("resets alarms (read back: cleared on the simulator) and keeps a command without a case in the pack's log", async () => {
    expect(runner.pack(1).snapshot().alarms).toContain("OVER_TEMP_ALARM");
    const record = await run("pack-1", { kind: "reset-alarms" });
    expect(record.status).toBe("succeeded");
    expect(record.result).toMatchObject({ after: [] });
    expect((record.result as { cleared: string[] }).cleared).toContain("OVER_TEMP_ALARM");
    expect(runner.pack(1).snapshot().alarms).toEqual([]);
    const log = (await api("/api/packs/site-1/pack-1/commands", ENGINEER)).json as { commands: CommandRecord[] };
    expect(log.commands[0]).toMatchObject({ id: record.id, caseId: null, status: "succeeded" });
  });

  it("set-parameter: admin only, bounds from the pack's parameters, before/after read back, the simulator's register holds it", async () => {
    await waitFor(async () => (await api("/api/packs/site-1/pack-1/parameters", ENGINEER)).status === 200, 10_000, "the pack's parameters");
    const params = (await api("/api/packs/site-1/pack-1/parameters", ENGINEER)).json as {
      writesEnabled: boolean;
      parameters: { name: string; value: number }[];
    };
    expect(params.writesEnabled).toBe(true);
    expect(params.parameters.find((p) => p.name === "overTempAlarmC")).toMatchObject({ value: 55, min: 45, max: 60, unit: "°C" });

    const asEngineer = await api("/api/packs/site-1/pack-1/commands", ENGINEER, { kind: "set-parameter", params: { name: "overTempAlarmC", value: 50 } });
    expect(asEngineer.status).toBe(403);
    expect(String(asEngineer.json.error)).toMatch(/set-parameter needs an admin token/);
    const outOfBounds = await api("/api/packs/site-1/pack-1/commands", ADMIN, { kind: "set-parameter", params: { name: "overTempAlarmC", value: 80 } });
    expect(outOfBounds.status).toBe(400);
    expect(String(outOfBounds.json.error)).toMatch(/45–60 °C/);

    const record = await run("pack-1", { kind: "set-parameter", params: { name: "overTempAlarmC", value: 50 } }, ADMIN);
    expect(record).toMatchObject({
      status: "succeeded",
      requestedBy: "Ada",
      result: { name: "overTempAlarmC", before: 55, requested: 50, after: 50, unit: "°C" },
    });
    await waitFor(
      async () =>
        ((await api("/api/packs/site-1/pack-1/parameters", ENGINEER)).json as typeof params).parameters.some(
          (p) => p.name === "overTempAlarmC" && p.value === 50,
        ),
      10_000,
      "the parameters to show the new value",
    );
    // Site 2's agent leaves set-parameter off: the service refuses before sending.
    await waitFor(async () => (await api("/api/packs/site-2/pack-1/parameters", ADMIN)).status === 200, 10_000, "site 2's parameters");
    const off = await api("/api/packs/site-2/pack-1/commands", ADMIN, { kind: "set-parameter", params: { name: "overTempAlarmC", value: 50 } });
    expect(off.status).toBe(400);
    expect(String(off.json.error)).toMatch(/does not change settings/);
  });

  it("capture for a case: samples at the rate asked on the command, and the case's second freeze frame in its evidence", async () => {
    const record = await run("pack-1", { kind: "capture", params: { hz: 5, seconds: 2 }, caseId });
    expect(record.status).toBe("succeeded");
    const result = record.result as { samples: number; frame: PackSample[] };
    expect(result.frame).toHaveLength(result.samples);
    expect(result.samples).toBeGreaterThanOrEqual(5);
    // socket.io carries the record without the samples.
    await waitFor(() => socketCommands.some((r) => r.id === record.id && r.status === "succeeded"), 5000, "the capture on socket.io");
    const onSocket = socketCommands.find((r) => r.id === record.id && r.status === "succeeded");
    expect(onSocket?.result).toMatchObject({ frameSamples: result.samples });

    const withCase = (await api(`/api/cases/${caseId}`, ENGINEER)).json as unknown as SupportCase;
    const capture = withCase.evidence.capture;
    expect(capture).toMatchObject({ commandId: record.id, hz: 5, seconds: 2, samples: result.samples });
    expect(capture?.ts).toEqual(result.frame.map((s) => s.ts));
    expect(capture?.packVoltage).toEqual(result.frame.map((s) => Math.round(s.packVoltage * 1000) / 1000));
    expect(capture?.cellVoltageMax[0]).toBeCloseTo(Math.max(...(result.frame[0]?.cellVoltages ?? [])), 4);
    // The first freeze frame (none here: the case was recorded without samples) is left as it was.
    expect(withCase.freezeFrames ?? []).toEqual([]);
    expect(withCase.timeline?.at(-1)).toMatchObject({ kind: "command-result", actor: "Erin" });
    expect(withCase.timeline?.at(-1)?.message).toMatch(/second freeze frame/);
  });

  it("a capture without a case stays on the pack's command log: the case's evidence keeps the capture it had", async () => {
    const before = (await api(`/api/cases/${caseId}`, ENGINEER)).json as unknown as SupportCase;
    const record = await run("pack-1", { kind: "capture", params: { hz: 2, seconds: 1 } });
    expect(record).toMatchObject({ status: "succeeded", caseId: null });
    const log = (await api("/api/packs/site-1/pack-1/commands", ENGINEER)).json as { commands: CommandRecord[] };
    expect(log.commands[0]).toMatchObject({ id: record.id, kind: "capture", caseId: null });
    const after = (await api(`/api/cases/${caseId}`, ENGINEER)).json as unknown as SupportCase;
    expect(after.evidence.capture?.commandId).toBe(before.evidence.capture?.commandId);
    expect(after.evidence.capture?.commandId).not.toBe(record.id);
    expect(after.timeline?.length).toBe(before.timeline?.length);
  });

  it("roles, sites and bad requests: a viewer gets 403, another site's token 404, unknown kinds and out-of-range captures 400", async () => {
    expect((await api("/api/packs/site-1/pack-1/commands", VIEWER, { kind: "read-event-log" })).status).toBe(403);
    expect((await api("/api/packs/site-1/pack-1/parameters", VIEWER)).status).toBe(403);
    expect((await api("/api/packs/site-1/pack-1/commands", SITE2_ENGINEER, { kind: "read-event-log" })).status).toBe(404);
    const mine = await run("pack-1", { kind: "read-event-log" });
    expect((await api(`/api/commands/${mine.id}`, SITE2_ENGINEER)).status).toBe(404);
    for (const body of [
      { kind: "format-disk" },
      { kind: "capture", params: { hz: 50, seconds: 10 } },
      { kind: "capture", params: { hz: 1, seconds: 600 } },
      { kind: "read-event-log", params: { extra: 1 } },
      { kind: "read-event-log", caseId: "no such case/../" },
    ]) {
      const res = await api("/api/packs/site-1/pack-1/commands", ENGINEER, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api("/api/packs/site-1/pack-1/commands", ENGINEER, { kind: "read-event-log", caseId: "unknown-case" })).status).toBe(404);
  });

  it("an agent of another site never sees the command, nor may an agent publish one; a pack with no agent stays pending, then expires", async () => {
    // What reaches bms/site-1/cmd, as the service's account sees it.
    const monitor = await mqtt.connectAsync(broker.url, { ...LIVE, clientId: "bms-live-monitor", reconnectPeriod: 0 });
    const onTopic: string[] = [];
    monitor.on("message", (_topic, payload) => onTopic.push(payload.toString()));
    await monitor.subscribeAsync("bms/site-1/cmd", { qos: 1 });
    const spy = await mqtt.connectAsync(broker.url, { ...AGENT2, clientId: "edge-site-2", reconnectPeriod: 0 });
    const seen: string[] = [];
    spy.on("message", (topic) => seen.push(topic));
    // The broker refuses the subscription (SUBACK 0x80; mqtt.js rejects on it).
    const refused = await spy.subscribeAsync("bms/site-1/cmd", { qos: 1 }).then(
      (granted) => granted[0]?.qos === 128,
      () => true,
    );
    expect(refused).toBe(true);
    spy.publish("bms/site-1/cmd", JSON.stringify({ forged: true }), { qos: 0 });
    spy.publish("bms/site-2/cmd", JSON.stringify({ forged: true }), { qos: 0 });
    const record = await run("pack-1", { kind: "read-event-log" });
    expect(record.status).toBe("succeeded");
    expect(seen).toEqual([]);
    // Only this command reached the topic (published again while pending when the agent is slow to take it).
    expect([...new Set(onTopic.map((p) => (JSON.parse(p) as { id?: string }).id))]).toEqual([record.id]);
    await spy.endAsync(true);
    await monitor.endAsync(true);

    const posted = await api("/api/packs/site-9/pack-1/commands", ENGINEER, { kind: "read-event-log", expiresInSeconds: 5 });
    const id = String(posted.json.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const waiting = (await api(`/api/commands/${id}`, ENGINEER)).json as unknown as CommandRecord;
    expect(waiting.status).toBe("pending");
    expect(waiting.attempts).toBeGreaterThan(1);
    await waitFor(async () => ((await api(`/api/commands/${id}`, ENGINEER)).json as unknown as CommandRecord).status === "expired", 15_000, "the expiry");
  });
});
