import { startModbusTcpServer } from "@bms/simulators";
import { expect } from "vitest";
import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { startRegisterServer } from "./fixtures/register-server";
import { GARBLED, quietRunner, sunspecWords } from "./fixtures/simulated-bus";
import { describeRegisterTransport } from "./register-transport.conformance";
import { describeTransport } from "./transport.conformance";

describeRegisterTransport("Modbus TCP (modbus-serial)", async () => {
  const registers = new Map<number, number>();
  const inputRegisters = new Map<number, number>();
  for (let a = 0; a < 400; a++) registers.set(a, (a * 7919 + 13) & 0xffff);
  for (let a = 0; a < 20; a++) inputRegisters.set(a, (a * 104729 + 7) & 0xffff);
  const server = await startRegisterServer({ units: new Map([[1, registers]]), inputUnits: new Map([[1, inputRegisters]]) });
  const transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 });
  return { transport, registers, inputRegisters, stopServer: () => server.stop(), startServer: () => server.start() };
});

describeTransport("Modbus TCP against the simulator", async () => {
  const runner = quietRunner(2);
  const [pack, absent] = runner.packs;
  if (!pack || !absent) throw new Error("two packs");
  absent.injectFault({ kind: "communication-loss" });
  let server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs });
  const port = server.port;
  const transport = new ModbusTcpTransport({ host: "127.0.0.1", port, timeoutMs: 300 });
  return {
    transport,
    read: () => transport.readHoldingRegisters(1, 40000, 200),
    expectServed: (words) => expect(words).toEqual(sunspecWords(pack, 40000, 200)),
    readAbsent: () => transport.readHoldingRegisters(2, 40000, 2),
    garble: (on) => (on ? pack.injectFault(GARBLED) : pack.clearFaults()),
    stopDevice: () => server.close(),
    startDevice: async () => {
      server = await startModbusTcpServer({ host: "127.0.0.1", port, devices: runner.packs });
    },
    teardown: () => server.close(),
  };
});
