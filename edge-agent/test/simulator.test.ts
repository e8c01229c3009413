import { startSimulator } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { waitFor } from "../../test/support/free-port";
import { makeTempDir } from "../../test/support/temp-dir";
import { startEdgeAgent } from "../src/index";
import { agentConfig, startRecordingBroker, telemetry } from "./fixtures/agent-setup";
import { captureLog } from "./fixtures/captured-log";

const cleanups = cleanupAfterEach();

describe("edge agent against the SunSpec simulator", () => {
  it("publishes samples that match the simulated packs within scale-factor rounding", async () => {
    // Simulated time nearly frozen, so the snapshot taken afterwards is the state that was read.
    const sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: 2, seed: 1, timeScale: 1e-6 });
    const broker = await startRecordingBroker();
    const dir = makeTempDir("bms-agent-sim-");
    cleanups.push(
      () => dir.remove(),
      () => sim.close(),
      () => broker.stop(),
    );
    const agent = await startEdgeAgent(agentConfig({ brokerUrl: broker.url, dataDir: dir.path, modbusPort: sim.port!, units: [1, 2] }), {
      log: captureLog().log,
    });
    cleanups.push(() => agent.close());
    await waitFor(
      () => telemetry(broker.received, "pack-1").length >= 1 && telemetry(broker.received, "pack-2").length >= 1,
      15_000,
      "samples of both simulated packs",
    );

    for (const unitId of [1, 2]) {
      const sample = telemetry(broker.received, `pack-${unitId}`).at(-1);
      const truth = sim.snapshot(unitId);
      if (!sample) throw new Error("no sample");
      // One step of each point's scale factor (simulator: V_SF -2, CellV_SF -3, A_SF -1, SoC_SF -1, Tmp_SF -1).
      expect(sample.packVoltage).toBeCloseTo(truth.packVoltage, 1);
      expect(Math.abs(sample.current - truth.current)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(sample.soc - truth.soc)).toBeLessThanOrEqual(0.1);
      expect(sample.cellVoltages).toHaveLength(truth.cellVoltages.length);
      for (const [i, v] of sample.cellVoltages.entries()) expect(Math.abs(v - (truth.cellVoltages[i] ?? Number.NaN))).toBeLessThanOrEqual(0.001);
      expect(sample.cellTemperatures).toHaveLength(truth.cellTemperatures.length);
      for (const [i, t] of sample.cellTemperatures.entries()) expect(Math.abs(t - (truth.cellTemperatures[i] ?? Number.NaN))).toBeLessThanOrEqual(0.1);
      expect(sample.bmsAlarms ?? []).toEqual(truth.alarms);
      expect(sample.cycleCount).toBe(Math.floor(truth.cycles));
      expect(sample.chargeCurrentLimit).toBeCloseTo(truth.chargeCurrentLimit, 0);
    }
    expect(broker.received.some((m) => m.topic === "bms/site-t/pack-2/meta" && m.retain)).toBe(true);
  });
});
