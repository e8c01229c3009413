import type { PackSample } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { sampleToLines } from "../src/line-protocol";

const base: PackSample = {
  v: 1,
  ts: 1_700_000_000_123,
  seq: 7,
  packVoltage: 52.8,
  current: -12.5,
  soc: 61,
  cellVoltages: [3.301, 3.305, 3.298],
  cellTemperatures: [25.5, 26],
};

describe("the time-series lines of a sample", () => {
  it("is one pack line with statistics and one cells line, floats without a type suffix", () => {
    expect(sampleToLines("site-a", "pack-1", { ...base, soh: 98.5, cycleCount: 120 })).toEqual([
      "pack,site=site-a,pack=pack-1 voltage=52.8,current=-12.5,soc=61,soh=98.5,cycle_count=120,seq=7,cell_voltage_min=3.298,cell_voltage_max=3.305,temperature_min=25.5,temperature_max=26 1700000000123",
      "cells,site=site-a,pack=pack-1 v1=3.301,v2=3.305,v3=3.298,t1=25.5,t2=26 1700000000123",
    ]);
  });

  it("adds a line per active BMS code, once each", () => {
    const lines = sampleToLines("s", "p", { ...base, bmsAlarms: ["OVER_TEMP_ALARM", "OVER_TEMP_ALARM", "OVER_VOLT_WARNING"] });
    expect(lines.slice(2)).toEqual([
      "bms_alarm,site=s,pack=p,code=OVER_TEMP_ALARM active=1 1700000000123",
      "bms_alarm,site=s,pack=p,code=OVER_VOLT_WARNING active=1 1700000000123",
    ]);
  });

  it("writes no statistics and no cells line for a pack without cells (a CAN BMS)", () => {
    expect(sampleToLines("s", "p", { ...base, cellVoltages: [], cellTemperatures: [] })).toEqual([
      "pack,site=s,pack=p voltage=52.8,current=-12.5,soc=61,seq=7 1700000000123",
    ]);
  });

  it("writes temperatures alone when the pack reports no cell voltages", () => {
    expect(sampleToLines("s", "p", { ...base, cellVoltages: [] })[1]).toBe("cells,site=s,pack=p t1=25.5,t2=26 1700000000123");
  });

  it("escapes what a tag value cannot hold", () => {
    expect(sampleToLines("a b", "c,d=e", base)[0]).toMatch(/^pack,site=a\\ b,pack=c\\,d\\=e /);
  });
});
