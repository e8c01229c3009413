import { describe, expect, it } from "vitest";
import { alarmsToEvt1, evt1ToAlarms } from "../src/bms-alarms";
import { PackSample } from "../src/pack-sample";
import { parseTopic, topics } from "../src/topics";

const sample = {
  v: 1,
  ts: Date.UTC(2026, 10, 23),
  seq: 7,
  packVoltage: 53.1,
  current: -12.5,
  soc: 64.2,
  cellVoltages: [3.31, 3.32],
  cellTemperatures: [24.5],
};

describe("pack sample", () => {
  it("accepts a plausible sample", () => {
    expect(PackSample.parse(sample)).toMatchObject(sample);
  });

  it("accepts a sample without cells (a CAN BMS reports none)", () => {
    expect(PackSample.parse({ ...sample, cellVoltages: [] }).cellVoltages).toEqual([]);
  });

  it.each([
    ["a 65 V cell", { cellVoltages: [65] }],
    ["SOC over 100 %", { soc: 101 }],
    ["a timestamp in seconds", { ts: 1_790_000_000 }],
    ["NaN-like strings", { packVoltage: "NaN" }],
    ["an unknown alarm code", { bmsAlarms: ["SELF_DESTRUCT"] }],
    ["another schema version", { v: 2 }],
    ["a negative sequence number", { seq: -1 }],
  ])("rejects %s", (_name, patch) => {
    expect(PackSample.safeParse({ ...sample, ...patch }).success).toBe(false);
  });
});

describe("topics", () => {
  it("builds and parses the contract topics", () => {
    expect(topics.telemetry("s1", "p1")).toBe("bms/s1/p1/telemetry");
    expect(parseTopic("bms/s1/p1/telemetry")).toEqual({ kind: "telemetry", siteId: "s1", packId: "p1" });
    expect(parseTopic("bms/s1/p1/meta")).toEqual({ kind: "meta", siteId: "s1", packId: "p1" });
    expect(parseTopic("bms/s1/status")).toEqual({ kind: "status", siteId: "s1" });
    expect(parseTopic("cases/s1/p1")).toEqual({ kind: "case", siteId: "s1", packId: "p1" });
  });

  it("builds and parses the remote-diagnosis topics", () => {
    expect(topics.commands("s1")).toBe("bms/s1/cmd");
    expect(topics.commandResults("s1")).toBe("bms/s1/cmd/result");
    expect(topics.parameters("s1", "p1")).toBe("bms/s1/p1/parameters");
    expect(parseTopic("bms/s1/cmd")).toEqual({ kind: "command", siteId: "s1" });
    expect(parseTopic("bms/s1/cmd/result")).toEqual({ kind: "command-result", siteId: "s1" });
    expect(parseTopic("bms/s1/p1/parameters")).toEqual({ kind: "parameters", siteId: "s1", packId: "p1" });
    expect(parseTopic("bms/s1/cmd/other")).toBeNull();
    expect(parseTopic("bms/s1/cmd/result/x")).toBeNull();
  });

  it.each([
    "bms/s1/p1/other",
    "bms/s1",
    "bms/s 1/p1/telemetry",
    "bms/s1/p1/telemetry/x",
    "bms/+/p1/telemetry",
    "",
    "bms//p1/telemetry",
    `bms/${"a".repeat(65)}/p/meta`,
  ])("returns null for %j", (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });

  it("refuses to build a topic from an ID with wildcards", () => {
    expect(() => topics.telemetry("#", "p1")).toThrow(/siteId/);
    expect(() => topics.status("a/b")).toThrow(/siteId/);
  });
});

describe("BMS alarm vocabulary", () => {
  it("round-trips Evt1 bits", () => {
    const bits = alarmsToEvt1(["OVER_TEMP_ALARM", "CONTACTOR_ERROR"]);
    expect(bits).toBe((1 << 1) | (1 << 20));
    expect(evt1ToAlarms(bits)).toEqual(["OVER_TEMP_ALARM", "CONTACTOR_ERROR"]);
    expect(evt1ToAlarms(0xffffffff)).toHaveLength(29);
  });
});
