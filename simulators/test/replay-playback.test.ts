import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { makeTempDir } from "../../test/support/temp-dir";
import { startModbusTcpServer } from "../src/protocols/modbus-tcp-server";
import { ReplayPlayer } from "../src/replay/replay-player";
import { parseRecording, readRecording } from "../src/replay/replay-recording";
import type { SimulatedDevice } from "../src/simulated-device";
import { encodePackRegisters, sunspecLayoutFor } from "../src/sunspec-register-map";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";
import { decodeImage } from "./scenario-image-decoder";

const dir = makeTempDir("bms-replay-");
afterAll(() => dir.remove());
const T0 = Date.UTC(2025, 0, 1);

function write(name: string, text: string): string {
  const file = join(dir.path, name);
  writeFileSync(file, text);
  return file;
}

function registersOf(device: SimulatedDevice): number[] {
  const snapshot = device.snapshot();
  return encodePackRegisters(sunspecLayoutFor(snapshot, SUNSPEC_BASE_ADDRESS), device.identity, snapshot);
}

function sample(i: number, packId: string, offsetV: number) {
  return {
    v: 1,
    ts: T0 + i * 10_000,
    seq: i,
    siteId: "site-a",
    packId,
    packVoltage: 52.8 + i,
    current: -12.3 + i,
    soc: 60 - i,
    soh: 97.5,
    cellVoltages: [3.301 + offsetV + i * 0.01, 3.302 + offsetV, 3.303 + offsetV, 3.304 + offsetV],
    cellTemperatures: [25.5 + i, 26.1, 24.9, 25],
    bmsAlarms: i === 2 ? ["OVER_TEMP_WARNING"] : [],
  };
}

const jsonl = [0, 1, 2]
  .flatMap((i) => [sample(i, "p1", 0), sample(i, "p2", 0.1)])
  .map((s) => JSON.stringify(s))
  .join("\n");

const csv = [
  "ts,packVoltage,current,soc,soh,cv0,cv1,cv2,t0,t1",
  `${T0},49.5,5.5,40.5,99,3.3,3.31,3.32,20.5,21`,
  `${T0 + 1000},49.6,6.5,41,99,3.31,3.32,3.33,21.5,22`,
  `${T0 + 2000},49.7,-7.5,41.5,99,3.32,3.33,3.34,22.5,23`,
].join("\n");

describe("replay of a JSONL recording", () => {
  it("groups rows by siteId/packId into unit IDs and plays them by recording time through the SunSpec encoder", () => {
    const player = new ReplayPlayer(readRecording(write("two-packs.jsonl", jsonl)));
    expect(player.devices.map((d) => [d.unitId, d.stream.packId])).toEqual([
      [1, "p1"],
      [2, "p2"],
    ]);
    expect(player.durationS).toBe(20);
    for (const [t, i] of [
      [0, 0],
      [9.9, 0],
      [10, 1],
      [25, 2],
      [1000, 2], // holds the last value
    ] as const) {
      if (t > player.simulatedSeconds) player.advance(t - player.simulatedSeconds);
      const recorded = sample(i, "p2", 0.1);
      const image = decodeImage(registersOf(player.devices[1] as SimulatedDevice));
      expect(image.packVoltage).toBeCloseTo(recorded.packVoltage, 2);
      expect(image.current).toBeCloseTo(recorded.current, 1);
      expect(image.soc).toBeCloseTo(recorded.soc, 1);
      recorded.cellVoltages.forEach((v, c) => {
        expect(image.cellVoltages[c]).toBeCloseTo(v, 3);
      });
      recorded.cellTemperatures.forEach((temp, c) => {
        expect(image.cellTemperatures[c]).toBeCloseTo(temp, 1);
      });
      expect(image.alarms).toEqual(recorded.bmsAlarms);
    }
    expect(player.finished).toBe(true);
  });

  it("loops when asked", () => {
    const player = new ReplayPlayer(parseRecording(jsonl, "jsonl"), { end: "loop" });
    player.advance(30); // 20 s of samples + one 10 s interval → back to the first
    expect(player.devices[0]?.snapshot().soc).toBe(60);
    player.advance(10);
    expect(player.devices[0]?.snapshot().soc).toBe(59);
    expect(player.finished).toBe(false);
  });

  it("plays through a real Modbus TCP server", async () => {
    const player = new ReplayPlayer(parseRecording(jsonl, "jsonl"));
    const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: player.devices });
    onTestFinished(() => server.close());
    const client = await connectClient(server.port);
    onTestFinished(() => closeClient(client));
    player.advance(10);
    const length = registersOf(player.devices[0] as SimulatedDevice).length;
    const image = decodeImage(await readRegisters(client, 1, SUNSPEC_BASE_ADDRESS, length));
    expect(image.soc).toBeCloseTo(59, 1);
    expect(image.cellVoltages[0]).toBeCloseTo(3.311, 3);
  });
});

describe("replay of a CSV recording", () => {
  it("reads the header's columns and gives back the recorded values", () => {
    const player = new ReplayPlayer(readRecording(write("one.csv", csv)));
    expect(player.devices).toHaveLength(1);
    player.advance(1);
    const image = decodeImage(registersOf(player.devices[0] as SimulatedDevice));
    expect(image.packVoltage).toBeCloseTo(49.6, 2);
    expect(image.current).toBeCloseTo(6.5, 1);
    expect(image.soc).toBeCloseTo(41, 1);
    [3.31, 3.32, 3.33].forEach((v, c) => {
      expect(image.cellVoltages[c]).toBeCloseTo(v, 3);
    });
    // Two sensors for three cells: the registers repeat the last one.
    [21.5, 22, 22].forEach((temp, c) => {
      expect(image.cellTemperatures[c]).toBeCloseTo(temp, 1);
    });
  });
});

describe("bad recordings", () => {
  function problems(text: string, format: "jsonl" | "csv"): string[] {
    try {
      parseRecording(text, format, "rec");
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    throw new Error("expected a ConfigError");
  }

  it("names the line of every bad JSONL row", () => {
    const good = JSON.stringify(sample(0, "p1", 0));
    const lines = problems(
      [good, "{not json", JSON.stringify({ ...sample(1, "p1", 0), soc: 250 }), "", JSON.stringify({ ...sample(2, "p1", 0), cellVoltages: "x" }), "[]"].join(
        "\n",
      ),
      "jsonl",
    );
    expect(lines).toEqual([
      expect.stringMatching(/^line 2: not valid JSON/),
      expect.stringMatching(/^line 3: soc: .*250/),
      expect.stringMatching(/^line 5: cellVoltages/),
      expect.stringMatching(/^line 6: \(root\)/),
    ]);
  });

  it("names the line of every bad CSV row and a bad header", () => {
    expect(problems("ts,current,cv0\n1,2,3", "csv")).toEqual([
      expect.stringMatching(/^line 1: the header has no packVoltage/),
      expect.stringMatching(/^line 1: the header has no soc/),
    ]);
    expect(problems("ts,packVoltage,current,soc,cv0,cv2\n", "csv")).toEqual([
      expect.stringMatching(/^line 1: columns cv0…cv1 must all be there, cv1 is missing/),
    ]);
    const bad = problems(
      [csv, `${T0 + 3000},49.7,oops,41.5,99,3.32,3.33,3.34,22.5,23`, "1,2,3", `${T0 + 4000},49.7,1,41.5,99,3.32,3.33,9,22.5,23`].join("\n"),
      "csv",
    );
    expect(bad).toEqual([
      expect.stringMatching(/^line 5: current: .*"oops"/),
      expect.stringMatching(/^line 6: 3 fields, the header has 10/),
      expect.stringMatching(/^line 7: cellVoltages\.2/),
    ]);
  });

  it("rejects an empty recording, caps the problem list, and refuses unknown file types", () => {
    expect(problems("\n\n", "jsonl")).toEqual(["the recording has no samples"]);
    const many = problems(Array.from({ length: 100 }, () => "nope").join("\n"), "jsonl");
    expect(many).toHaveLength(21);
    expect(many[20]).toMatch(/and 80 more problems/);
    expect(() => readRecording(write("x.txt", "hi"))).toThrow(/expected a \.jsonl or \.csv/);
    expect(() => readRecording(join(dir.path, "missing.jsonl"))).toThrow(/cannot read the recording/);
  });
});
