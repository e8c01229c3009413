import { ModbusTcpTransport } from "../src/transports/modbus-tcp-transport";
import { startRegisterServer } from "./fixtures/register-server";
import { describeRegisterTransport } from "./register-transport.conformance";

describeRegisterTransport("Modbus TCP (modbus-serial)", async () => {
  const registers = new Map<number, number>();
  for (let a = 0; a < 400; a++) registers.set(a, (a * 7919 + 13) & 0xffff);
  const server = await startRegisterServer({ units: new Map([[1, registers]]) });
  const transport = new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 300 });
  return { transport, registers, stopServer: () => server.stop(), startServer: () => server.start() };
});
