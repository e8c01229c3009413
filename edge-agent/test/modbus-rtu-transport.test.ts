import { type PtyPair, type RunningModbusRtuServer, startModbusRtuServer, startPtyPair } from "@bms/simulators";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "../../test/support/cleanups";
import { makeTempDir } from "../../test/support/temp-dir";
import { interFrameDelayMs, ModbusRtuTransport } from "../src/transports/modbus-rtu-transport";
import { DeviceTimeoutError } from "../src/transports/transport-errors";
import { startRtuRegisterServer } from "./fixtures/rtu-register-server";
import { GARBLED, quietRunner, sunspecWords } from "./fixtures/simulated-bus";
import { describeRegisterTransport } from "./register-transport.conformance";
import { describeTransport } from "./transport.conformance";

describeRegisterTransport("Modbus RTU (modbus-serial connectRTUBuffered) on a pseudo-terminal", async () => {
  const registers = new Map<number, number>();
  const inputRegisters = new Map<number, number>();
  for (let a = 0; a < 400; a++) registers.set(a, (a * 7919 + 13) & 0xffff);
  for (let a = 0; a < 20; a++) inputRegisters.set(a, (a * 104729 + 7) & 0xffff);
  const pty = await startPtyPair();
  const server = await startRtuRegisterServer({ path: pty.devicePath, units: new Map([[1, registers]]), inputUnits: new Map([[1, inputRegisters]]) });
  const transport = new ModbusRtuTransport({ path: pty.clientPath, baudRate: 115200, timeoutMs: 300 });
  return {
    transport,
    registers,
    inputRegisters,
    stopServer: () => server.stop(),
    startServer: () => server.start(),
    teardown: () => pty.close(),
  };
});

describeTransport("Modbus RTU against the simulator, port unplugged and back", async () => {
  const runner = quietRunner(2);
  const [pack] = runner.packs;
  if (!pack) throw new Error("a pack");
  const dir = makeTempDir("bms-rtu-");
  let pty: PtyPair = await startPtyPair({ dir: dir.path });
  let server: RunningModbusRtuServer = await startModbusRtuServer({ path: pty.devicePath, devices: runner.packs });
  const transport = new ModbusRtuTransport({ path: pty.clientPath, baudRate: 115200, timeoutMs: 300 });
  return {
    transport,
    read: () => transport.readHoldingRegisters(1, 40000, 200),
    expectServed: (words) => expect(words).toEqual(sunspecWords(pack, 40000, 200)),
    readAbsent: () => transport.readHoldingRegisters(9, 40000, 2),
    garble: (on) => (on ? pack.injectFault(GARBLED) : pack.clearFaults()),
    stopDevice: async () => {
      await server.close();
      await pty.close();
    },
    startDevice: async () => {
      pty = await startPtyPair({ dir: dir.path });
      server = await startModbusRtuServer({ path: pty.devicePath, devices: runner.packs });
    },
    teardown: async () => {
      await server.close();
      await pty.close();
      dir.remove();
    },
  };
});

describe("Modbus RTU line discipline", () => {
  const cleanups = cleanupAfterEach();

  it("pauses t3.5 between requests: 4 ms at 9600 baud, 2 ms above 19200", () => {
    expect(interFrameDelayMs(9600)).toBe(5);
    expect(interFrameDelayMs(2400)).toBe(17);
    expect(interFrameDelayMs(115200)).toBe(2);
  });

  it("a slow unit's late reply never answers the next request (it times out instead), and the line keeps serving the others", async () => {
    const pty = await startPtyPair();
    const fast = new Map<number, number>(Array.from({ length: 50 }, (_, a) => [a, a + 1000]));
    const slow = new Map<number, number>(Array.from({ length: 50 }, (_, a) => [a, a + 5000]));
    const server = await startRtuRegisterServer({
      path: pty.devicePath,
      units: new Map([
        [1, fast],
        [3, slow],
      ]),
    });
    const transport = new ModbusRtuTransport({ path: pty.clientPath, baudRate: 115200, timeoutMs: 200, quietAfterTimeoutMs: 300 });
    cleanups.push(
      () => transport.close(),
      () => server.stop(),
      () => pty.close(),
    );
    expect(await transport.readHoldingRegisters(3, 0, 4)).toEqual([5000, 5001, 5002, 5003]);
    // Unit 3 now answers 250 ms late: after its 200 ms timeout. Its reply to the first read arrives
    // while the transport waits out the silence, so the second read cannot take it for its own.
    server.delayMs.set(3, 250);
    const [first, second] = await Promise.all([
      transport.readHoldingRegisters(3, 0, 4).catch((e: unknown) => e),
      transport.readHoldingRegisters(3, 10, 4).catch((e: unknown) => e),
    ]);
    expect(first).toBeInstanceOf(DeviceTimeoutError);
    expect(second).toBeInstanceOf(DeviceTimeoutError);
    expect(await transport.readHoldingRegisters(1, 0, 4)).toEqual([1000, 1001, 1002, 1003]);
    server.delayMs.delete(3);
    expect(await transport.readHoldingRegisters(3, 10, 2)).toEqual([5010, 5011]);
  });
});
