import { request } from "node:http";
import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/free-port";
import { type RunningSimulator, startSimulator } from "../src/control/run-simulator";
import { parseSimulatorFlags } from "../src/simulator-flags";
import { closeClient, connectClient, readRegisters } from "./modbus-test-client";

const TOKEN = "demo-token-123";
let sim: RunningSimulator;
let base: string;

beforeAll(async () => {
  sim = await startSimulator(
    parseSimulatorFlags(["--host", "127.0.0.1", "--port", "0", "--control-port", "0", "--control-token", TOKEN, "--packs", "2", "--time-scale", "20"]),
  );
  base = `http://127.0.0.1:${sim.controlPort}`;
});
afterAll(() => sim.close());

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("control interface of a running simulator", () => {
  it("reports status: packs, simulated time, scenario", async () => {
    const { status, json } = await call("GET", "/status");
    expect(status).toBe(200);
    expect(json).toMatchObject({ mode: "scenario", running: true, scenario: { scenario: "healthy", packs: [{ unitId: 1 }, { unitId: 2 }] } });
    await waitFor(async () => ((await call("GET", "/status")).json.simulatedSeconds as number) > 0, 10_000, "simulated time to move");
  });

  it("injects a fault that shows in the Modbus registers, clears it and resets alarms", async () => {
    const injected = await call("POST", "/packs/2/faults", { fault: { kind: "communication-loss" } });
    expect(injected.status).toBe(201);
    expect(injected.json).toMatchObject({ unitId: 2, fault: { kind: "communication-loss" } });
    const client = await connectClient(sim.port!);
    try {
      client.setTimeout(300);
      await expect(readRegisters(client, 2, SUNSPEC_BASE_ADDRESS, 2)).rejects.toThrow(); // silent
      expect(await readRegisters(client, 1, SUNSPEC_BASE_ADDRESS, 2)).toEqual([0x5375, 0x6e53]);
      expect((await call("DELETE", "/packs/2/faults")).status).toBe(200);
      client.setTimeout(2000);
      expect(await readRegisters(client, 2, SUNSPEC_BASE_ADDRESS, 2)).toEqual([0x5375, 0x6e53]);
    } finally {
      await closeClient(client);
    }
    expect((await call("POST", "/packs/1/reset-alarms")).status).toBe(200);
  });

  it("starts a shipped or inline scenario and stops the clock", async () => {
    const started = await call("POST", "/scenario", { name: "over-temperature" });
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({ running: true, scenario: { scenario: "over-temperature", faultsScheduled: 1 } });
    const inline = await call("POST", "/scenario", {
      scenario: { name: "inline", packs: 3, faults: [{ atS: 0, pack: 3, fault: { kind: "over-temperature", sensor: 2 } }] },
    });
    expect(inline.status).toBe(201);
    const client = await connectClient(sim.port!);
    try {
      expect(await readRegisters(client, 3, SUNSPEC_BASE_ADDRESS, 2)).toEqual([0x5375, 0x6e53]); // the new third pack is served
    } finally {
      await closeClient(client);
    }
    const stopped = await call("POST", "/stop");
    expect(stopped.json).toMatchObject({ running: false });
    const t = stopped.json.simulatedSeconds;
    await new Promise((r) => setTimeout(r, 300));
    expect((await call("GET", "/status")).json.simulatedSeconds).toBe(t);
  });

  it.each([
    ["no token", "GET", "/status", undefined, null, 401],
    ["a wrong token", "GET", "/status", undefined, "nope-nope-nope", 401],
    ["bad JSON", "POST", "/packs/1/faults", "{oops", TOKEN, 400],
    ["an unknown unit", "POST", "/packs/9/faults", { fault: { kind: "communication-loss" } }, TOKEN, 404],
    ["a non-numeric unit", "POST", "/packs/abc/faults", { fault: { kind: "communication-loss" } }, TOKEN, 400],
    ["an unknown fault", "POST", "/packs/1/faults", { fault: { kind: "meltdown" } }, TOKEN, 400],
    ["a sensor the pack lacks", "POST", "/packs/1/faults", { fault: { kind: "over-temperature", sensor: 999 } }, TOKEN, 400],
    ["no body", "POST", "/packs/1/faults", undefined, TOKEN, 400],
    ["an unknown scenario", "POST", "/scenario", { name: "meltdown" }, TOKEN, 400],
    ["a non-scenario file", "POST", "/scenario", { file: "/etc/passwd" }, TOKEN, 400],
    ["a bad inline scenario", "POST", "/scenario", { scenario: { name: "x", packs: -1 } }, TOKEN, 400],
    ["an unknown endpoint", "GET", "/admin", undefined, TOKEN, 404],
    ["a wrong method", "DELETE", "/status", undefined, TOKEN, 405],
  ] as const)("answers %s with a 4xx JSON error", async (_what, method, path, body, token, expected) => {
    const { status, json } = await call(method, path, body, token);
    expect(status).toBe(expected);
    expect(typeof json.error).toBe("string");
  });

  it("refuses a huge body with 413 and keeps serving", async () => {
    const huge = JSON.stringify({ fault: { kind: "communication-loss" }, pad: "x".repeat(200_000) });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/packs/1/faults`,
        { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(huge);
    });
    expect(status).toBe(413);
    expect((await call("GET", "/status")).status).toBe(200);
  });
});
