import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../src/index";
import { registersOf, runMbpoll } from "./mbpoll-client";

/** Runs mbpoll once against the simulator's Modbus TCP port. */
function poll(port: number, args: string[]): Promise<{ stdout: string; code: number }> {
  return runMbpoll(["-m", "tcp", "-p", String(port), "-o", "2", ...args, "127.0.0.1"]);
}

describe("mbpoll (an independent Modbus master) reads the simulator", () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: 2 });
  });

  afterAll(async () => {
    await sim.close();
  });

  it("reads the SunS marker and the model 1 header at reference 40001", async () => {
    const { stdout, code } = await poll(sim.port!, ["-a", "1", "-r", "40001", "-c", "4", "-t", "4:hex"]);
    expect(code).toBe(0);
    expect(registersOf(stdout)).toEqual({ 40001: "0x5375", 40002: "0x6E53", 40003: "0x0001", 40004: "0x0042" });
  });

  it("reads the model 802 and 805 headers and the end model of pack 2", async () => {
    const battery = registersOf((await poll(sim.port!, ["-a", "2", "-r", "40071", "-c", "2"])).stdout);
    expect(battery).toEqual({ 40071: "802", 40072: "62" });
    const module = registersOf((await poll(sim.port!, ["-a", "2", "-r", "40135", "-c", "5"])).stdout);
    expect(module).toMatchObject({ 40135: "805", 40136: "106", 40139: "16" });
    const end = registersOf((await poll(sim.port!, ["-a", "2", "-0", "-r", "40242", "-c", "2", "-t", "4:hex"])).stdout);
    expect(end).toEqual({ 40242: "0xFFFF", 40243: "0x0000" });
  });

  it("reads the same map through function 4 (input registers)", async () => {
    const { stdout } = await poll(sim.port!, ["-a", "1", "-r", "40001", "-c", "2", "-t", "3:hex"]);
    expect(registersOf(stdout)).toEqual({ 40001: "0x5375", 40002: "0x6E53" });
  });

  it("gets an exception past the map and for a unit ID without a pack", async () => {
    const past = await poll(sim.port!, ["-a", "1", "-r", "40240", "-c", "10"]);
    expect(past.stdout).toMatch(/Illegal data address/);
    const noPack = await poll(sim.port!, ["-a", "3", "-r", "40001", "-c", "2"]);
    expect(noPack.stdout).toMatch(/Target device failed to respond/);
    expect(registersOf(noPack.stdout)).toEqual({});
  });
});
