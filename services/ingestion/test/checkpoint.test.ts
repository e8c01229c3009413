import type { PackSample } from "@bms/shared";
import { afterEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { RuleInput } from "../src/rules/rule-engine";
import { type FastEngine, startFastEngine } from "./fixtures/scenario-feed";

const T0 = Date.UTC(2026, 10, 1);

function healthy(seq: number, ts: number): PackSample {
  return { v: 1, ts, seq, packVoltage: 52.8, current: -5, soc: 60, cellVoltages: Array.from({ length: 16 }, () => 3.3), cellTemperatures: [25, 25, 26, 25] };
}

function onePerPack(packs: number, second: number): RuleInput[] {
  const ts = T0 + second * 1000;
  return Array.from({ length: packs }, (_, i) => ({ kind: "sample", siteId: "site-1", packId: `pack-${i}`, sample: healthy(second, ts), arrivedAt: ts }));
}

describe("the checkpoint of soft rule state", () => {
  let dir: TempDir;
  let fast: FastEngine | undefined;
  afterEach(async () => {
    await fast?.close();
    dir.remove();
  });

  it("saves every pack's state, in slices between which the intake's batches run", async () => {
    dir = makeTempDir("bms-checkpoint-");
    fast = await startFastEngine(dir.path, { now: T0 });
    // Healthy samples change soft state only (windows, usage, health): not saved per batch.
    await fast.engine.run(onePerPack(250, 1));
    const before = await fast.store.loadStates();
    expect(before.filter((r) => r.packId !== "_site").length).toBeLessThan(250);

    const order: string[] = [];
    const checkpoint = fast.engine.checkpoint().then(() => order.push("checkpoint"));
    const batch = fast.engine.run(onePerPack(1, 2)).then(() => order.push("batch"));
    await Promise.all([checkpoint, batch]);
    // The batch queued after the checkpoint started did not wait for all 250 states.
    expect(order).toEqual(["batch", "checkpoint"]);
    const after = await fast.store.loadStates();
    expect(
      after
        .filter((r) => r.packId !== "_site")
        .map((r) => r.packId)
        .sort(),
    ).toEqual(Array.from({ length: 250 }, (_, i) => `pack-${i}`).sort());
  });

  it("lets a batch that arrives while it runs (a later turn of the event loop) in between its slices", async () => {
    dir = makeTempDir("bms-checkpoint-");
    fast = await startFastEngine(dir.path, { now: T0 });
    await fast.engine.run(onePerPack(250, 1));
    const engine = fast.engine;
    const order: string[] = [];
    const checkpoint = engine.checkpoint().then(() => order.push("checkpoint"));
    // As a socket's data would: not queued yet when the checkpoint starts.
    const batch = new Promise<void>((resolve) => setImmediate(() => void engine.run(onePerPack(1, 2)).then(() => resolve())));
    await Promise.all([checkpoint, batch.then(() => order.push("batch"))]);
    expect(order).toEqual(["batch", "checkpoint"]);
  });
});
