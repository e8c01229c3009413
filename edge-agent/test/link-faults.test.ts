import { SiteStatus } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { type ScenarioPack, type SimulatedDevice, startModbusRtuServer, startPtyPair } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { type RecordingBroker, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";
import { GARBLED, quietRunner } from "./fixtures/simulated-bus";

const cleanups = cleanupAfterEach();

/** A pack that can vanish after a given number of further requests: in the middle of a multi-request poll. */
class VanishingDevice implements SimulatedDevice {
  private answersLeft = Number.POSITIVE_INFINITY;
  constructor(private readonly pack: ScenarioPack) {}
  get unitId() {
    return this.pack.unitId;
  }
  get identity() {
    return this.pack.identity;
  }
  snapshot() {
    this.answersLeft -= 1;
    return this.pack.snapshot();
  }
  link() {
    return this.answersLeft <= 0 ? ({ kind: "silent" } as const) : this.pack.link();
  }
  linkRandom() {
    return this.pack.linkRandom();
  }
  resetAlarms() {
    this.pack.resetAlarms();
  }
  history() {
    return this.pack.history();
  }
  vanishAfter(requests: number) {
    this.answersLeft = requests;
  }
  comeBack() {
    this.answersLeft = Number.POSITIVE_INFINITY;
  }
}

function lastStatus(broker: RecordingBroker): SiteStatus | undefined {
  const message = broker.received.filter((m) => m.topic === "bms/site-t/status").at(-1);
  return message ? SiteStatus.parse(JSON.parse(message.payload)) : undefined;
}

const deviceStatus = (broker: RecordingBroker, packId: string) => lastStatus(broker)?.agent?.devices.find((d) => d.packId === packId);

describe("link faults on a shared RS-485 line", () => {
  it("garbled replies, timeouts and a device vanishing mid-poll: the others keep polling, the failing ones are reported, and they recover", async () => {
    const runner = quietRunner(3);
    const [healthy, noisy, third] = runner.packs;
    if (!healthy || !noisy || !third) throw new Error("three packs");
    const vanishing = new VanishingDevice(third);
    const pty = await startPtyPair();
    const server = await startModbusRtuServer({ path: pty.devicePath, devices: [healthy, noisy, vanishing] });
    const broker = await startRecordingBroker();
    const dir = makeTempDir("bms-agent-faults-");
    const captured = captureLog();
    const agent = await startEdgeAgent(
      EdgeAgentConfig.parse({
        siteId: "site-t",
        mqtt: { url: broker.url, reconnectPeriodMs: 100 },
        pollIntervalMs: 200,
        retryMinMs: 100,
        retryMaxMs: 400,
        statusIntervalMs: 1000,
        dataDir: dir.path,
        devices: [1, 2, 3].map((unitId) => ({
          packId: `pack-${unitId}`,
          // Long enough that a healthy reply is never late on a loaded machine (pack 1 must never fail).
          timeoutMs: 1000,
          transport: { kind: "modbus-rtu", path: pty.clientPath, baudRate: 115200, unitId },
        })),
      }),
      { log: captured.log },
    );
    cleanups.push(
      () => dir.remove(),
      () => broker.stop(),
      () => pty.close(),
      () => server.close(),
      () => agent.close(),
    );
    await waitFor(() => [1, 2, 3].every((u) => telemetry(broker.received, `pack-${u}`).length >= 2), 20_000, "samples of all three packs");

    // Pack 2's link turns noisy. A poll of pack 3 is two requests (802 to 805 is 172 registers):
    // it answers the next one and vanishes, so its next poll fails half-way.
    noisy.injectFault(GARBLED);
    vanishing.vanishAfter(1);
    await waitFor(() => (agent.health().devices[2]?.consecutiveFailures ?? 0) >= 2, 20_000, "pack 3 to be failing");
    const before = telemetry(broker.received, "pack-1").length;
    await waitFor(() => (agent.health().devices[1]?.errors ?? 0) >= 3, 30_000, "errors of the noisy pack 2");
    // Pack 1 goes on at its pace while the line carries timeouts and garbage for the others.
    await waitFor(() => telemetry(broker.received, "pack-1").length >= before + 5, 20_000, "pack 1 to keep publishing");
    const health = agent.health();
    expect(health.devices[0]).toMatchObject({ state: "ok", consecutiveFailures: 0 });
    expect(health.devices[2]).toMatchObject({ state: "failing" });
    expect(health.devices[2]?.lastError).toMatch(/did not answer within 1000 ms/);
    // The retained status says so too.
    await waitFor(() => deviceStatus(broker, "pack-3")?.state === "failing" && (deviceStatus(broker, "pack-2")?.errors ?? 0) > 0, 10_000, "the status");
    expect(deviceStatus(broker, "pack-1")).toMatchObject({ state: "ok", errors: 0 });
    expect(deviceStatus(broker, "pack-3")?.lastError).toMatch(/did not answer/);
    // No garbled reply ever became a sample: every published value is the pack's.
    for (const sample of telemetry(broker.received, "pack-2")) expect(sample.packVoltage).toBeCloseTo(noisy.snapshot().packVoltage, 1);

    noisy.clearFaults();
    vanishing.comeBack();
    const counts = [2, 3].map((u) => telemetry(broker.received, `pack-${u}`).length);
    await waitFor(
      () => [2, 3].every((u, i) => telemetry(broker.received, `pack-${u}`).length >= (counts[i] ?? 0) + 3),
      30_000,
      "packs 2 and 3 to publish again",
    );
    await waitFor(() => ["pack-1", "pack-2", "pack-3"].every((p) => deviceStatus(broker, p)?.state === "ok"), 10_000, "every pack ok in the status");
    expect(captured.lines.filter((l) => l.msg === "device answering again").map((l) => l.packId)).toEqual(expect.arrayContaining(["pack-3"]));
    expect(captured.lines.filter((l) => l.msg === "device not answering" && l.packId === "pack-1")).toEqual([]);
  });
});
