import { parseConfig, SiteStatus } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { startBroker } from "../../services/broker/src/start-broker";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { startMosquitto } from "../../test/support/mosquitto";
import { makeTempDir } from "../../test/support/temp-dir";
import { ClockCheck, RELEASE_DATE } from "../src/clock-check";
import { startEdgeAgent } from "../src/index";
import { captureLog } from "./fixtures/captured-log";
import { startRegisterServer } from "./fixtures/register-server";
import { sunspecDevice } from "./fixtures/sunspec-device";

const cleanups = cleanupAfterEach();
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 1, 12);

function check(now: () => number, manufacturedOn: string[] = []) {
  const log = captureLog();
  return { log, clock: new ClockCheck({ siteId: "s", log: log.log, toleranceMs: 60_000, manufacturedOn, now }) };
}

describe("ClockCheck", () => {
  it("a clock before the release date or a pack's manufacturing date is behind, with no broker needed", () => {
    expect(check(() => Date.UTC(1970, 0, 1)).clock.status()).toEqual({ state: "behind", reference: "release-date", offsetMs: -RELEASE_DATE });
    const made = check(() => NOW, ["2026-11-20", "2026-03-01"]).clock.status();
    expect(made).toEqual({ state: "behind", reference: "manufacturing-date", offsetMs: NOW - Date.UTC(2026, 10, 20) });
    expect(check(() => NOW, ["2026-03-01"]).clock.status()).toEqual({ state: "unchecked" });
  });

  it("against the broker's time: behind from any copy, ahead only from a live one (a retained copy may be old)", () => {
    let now = NOW;
    const { clock, log } = check(() => now);
    clock.onBrokerTime(NOW - 5_000, true);
    expect(clock.status()).toEqual({ state: "ok", reference: "broker", offsetMs: 5_000 });
    clock.onBrokerTime(NOW - 10 * 60_000, true);
    expect(clock.status()).toMatchObject({ state: "ok" });
    clock.onBrokerTime(NOW - 10 * 60_000, false);
    expect(clock.status()).toEqual({ state: "ahead", reference: "broker", offsetMs: 10 * 60_000 });
    clock.onBrokerTime(NOW + DAY, true);
    expect(clock.status()).toEqual({ state: "behind", reference: "broker", offsetMs: -DAY });
    // Set right (NTP): the next copy says so.
    now = NOW + DAY;
    clock.onBrokerTime(NOW + DAY - 1000, false);
    expect(clock.status()).toMatchObject({ state: "ok" });
    expect(log.lines.map((l) => [l.msg, l.state])).toEqual([
      ["the agent's clock is wrong: sample timestamps will be off", "ahead"],
      ["the agent's clock is wrong: sample timestamps will be off", "behind"],
      ["the agent's clock is right again", "ok"],
    ]);
  });

  it("without the broker's time, a clock earlier than the agent's own last status went backwards", () => {
    const { clock } = check(() => NOW);
    clock.onLastStatus(NOW - DAY);
    expect(clock.status()).toEqual({ state: "unchecked" });
    clock.onLastStatus(NOW + DAY);
    expect(clock.status()).toEqual({ state: "behind", reference: "last-status", offsetMs: -DAY });
    // The broker's time, once seen, is the better reference.
    clock.onBrokerTime(NOW, false);
    expect(clock.status()).toMatchObject({ state: "ok", reference: "broker" });
  });
});

async function site() {
  const modbus = await startRegisterServer({ units: new Map([[1, sunspecDevice().registers]]) });
  const dir = makeTempDir("bms-clock-");
  cleanups.push(
    () => dir.remove(),
    () => modbus.close(),
  );
  const config = (url: string, credentials: Record<string, string> = {}, device: Record<string, unknown> = {}) =>
    EdgeAgentConfig.parse({
      siteId: "site-1",
      mqtt: { url, reconnectPeriodMs: 200, connectTimeoutMs: 2000, ...credentials },
      pollIntervalMs: 200,
      statusIntervalMs: 1000,
      dataDir: dir.path,
      devices: [{ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: modbus.port, unitId: 1 }, ...device }],
    });
  const start = async (cfg: EdgeAgentConfig, now?: () => number) => {
    const log = captureLog();
    const agent = await startEdgeAgent(cfg, { log: log.log, ...(now ? { now } : {}) });
    cleanups.push(() => agent.close());
    return { agent, log };
  };
  return { dir, config, start };
}

/** The retained status of site-1 as a fresh subscriber gets it. */
async function retainedStatus(url: string, credentials: Record<string, string>): Promise<SiteStatus> {
  const reader = await mqtt.connectAsync(url, { ...credentials, reconnectPeriod: 0 });
  try {
    const got = new Promise<SiteStatus>((resolve) => reader.on("message", (_t, p) => resolve(SiteStatus.parse(JSON.parse(p.toString())))));
    await reader.subscribeAsync("bms/site-1/status", { qos: 1 });
    return await got;
  } finally {
    await reader.endAsync();
  }
}

describe("the agent's clock check through a real broker", () => {
  it("embedded broker: a clock a day behind the broker's is reported in the retained status; a right one is ok", async () => {
    const { dir, config, start } = await site();
    const agentAccount = { username: "agent-site-1", password: "agent-password" };
    const service = { username: "ingestion", password: "service-password", clientId: "bms-ingestion-clock" };
    const broker = await startBroker(
      parseConfig(
        BrokerConfig,
        {
          host: "127.0.0.1",
          port: 0,
          dataDir: dir.path,
          timeIntervalMs: 300,
          users: [
            { ...agentAccount, role: "agent", siteId: "site-1" },
            { username: service.username, password: service.password, role: "service" },
          ],
        },
        "test",
      ),
      { log: captureLog().log },
    );
    cleanups.push(() => broker.close());

    const wrong = await start(config(broker.url, agentAccount), () => Date.now() - DAY);
    await waitFor(() => wrong.agent.status().clock?.state === "behind", 10_000, "the clock to be found behind");
    expect(wrong.agent.health().clock).toMatchObject({ state: "behind", reference: "broker" });
    expect(wrong.agent.status().clock?.offsetMs).toBeLessThan(-DAY + 60_000);
    await waitFor(async () => (await retainedStatus(broker.url, service)).agent?.clock?.state === "behind", 10_000, "the retained status to say so");
    expect(wrong.log.messages("the agent's clock is wrong: sample timestamps will be off")).toBe(1);
    await wrong.agent.close();

    const right = await start(config(broker.url, agentAccount));
    await waitFor(() => right.agent.status().clock?.state === "ok", 10_000, "the clock to be found right");
    expect(right.agent.status().clock?.reference).toBe("broker");
  });

  it("Mosquitto (no broker time): a clock set back after a run is behind the agent's own last status", async () => {
    const { config, start } = await site();
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.stop());
    const first = await start(config(mosquitto.url));
    await waitFor(() => first.agent.health().published >= 3, 10_000, "a first run");
    expect(first.agent.status().clock).toEqual({ state: "unchecked" });
    await first.agent.close();
    const again = await start(config(mosquitto.url), () => Date.now() - DAY);
    await waitFor(() => again.agent.status().clock?.state === "behind", 10_000, "the clock to be found behind");
    expect(again.agent.status().clock).toMatchObject({ reference: "last-status" });
  });

  it("a pack manufactured after the agent's date: behind, said at start, broker or not", async () => {
    const { config, start } = await site();
    const { agent, log } = await start(config("mqtt://127.0.0.1:1"), () => Date.UTC(2026, 0, 15));
    expect(agent.status().clock?.state).toBe("unchecked");
    await agent.close();
    const made = await start({ ...config("mqtt://127.0.0.1:1"), devices: config("mqtt://127.0.0.1:1", {}, { manufacturedOn: "2026-06-01" }).devices }, () =>
      Date.UTC(2026, 0, 15),
    );
    expect(made.agent.status().clock).toMatchObject({ state: "behind", reference: "manufacturing-date" });
    expect(made.log.messages("the agent's clock is wrong: sample timestamps will be off")).toBe(1);
    expect(log.messages("the agent's clock is wrong: sample timestamps will be off")).toBe(0);
  });
});
