import { Server } from "node:net";
import { createLogger, DEFAULT_PORTS, isAddressInUse, PortInUseError } from "@bms/shared";
import { ServerTCP } from "modbus-serial";
import { guardModbusRequests } from "../modbus-request-guard";
import type { SimulatedDevice } from "../simulated-device";
import { damageTcpReply, replyDamage } from "./link-faults";
import { pickListenPort } from "./listen-port";
import { type ModbusMapSetting, registerMapFor } from "./modbus-register-map";
import { assertUniqueUnits, deviceAt, modbusServiceVector } from "./modbus-service-vector";

export interface ModbusTcpServerOptions {
  /** Address to listen on. @default "0.0.0.0" */
  host?: string;
  /** TCP port; 0 picks a free one. @default 5020 */
  port?: number;
  /** The packs served; each answers at its own unitId. */
  devices: readonly SimulatedDevice[];
  /** The register map every device presents. @default "sunspec" */
  map?: ModbusMapSetting;
  /** The setting a PortInUseError names, so the message says what to change. @default "--port" */
  portSetting?: string;
}

export interface RunningModbusTcpServer {
  host: string;
  /** The port it listens on (the real one when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

/** ServerTCP keeps its net.Server private; it is the only way to learn the port when 0 was asked for. */
function netServerOf(server: ServerTCP): Server {
  const inner: unknown = Reflect.get(server, "_server");
  if (!(inner instanceof Server)) throw new Error("modbus-serial's ServerTCP no longer has a _server net.Server: update modbus-tcp-server.ts");
  return inner;
}

function listen(server: ServerTCP, port: number, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => {
      server.removeListener("initialized", onReady);
      reject(isAddressInUse(err) ? new PortInUseError(port, setting) : err);
    };
    const onReady = () => {
      server.removeListener("serverError", onError);
      resolve();
    };
    server.once("serverError", onError);
    server.once("initialized", onReady);
  });
}

/**
 * Modbus TCP over a list of devices: unit ID N = the device whose unitId is N, every device laid
 * out by `map`. Malformed and unsupported requests get exceptions (modbus-request-guard); a silent
 * device gets no reply at all; a garbled one has replies dropped, truncated or sent with the wrong
 * unit ID, by its seeded link stream.
 */
export async function startModbusTcpServer(options: ModbusTcpServerOptions): Promise<RunningModbusTcpServer> {
  const host = options.host ?? "0.0.0.0";
  // modbus-serial's ServerTCP takes 0 for "use 502": ask the OS for a free port instead.
  const port = await pickListenPort(host, options.port ?? DEFAULT_PORTS.simulatorModbus);
  const setting = options.portSetting ?? "--port";
  const { devices } = options;
  assertUniqueUnits(devices);
  const map = registerMapFor(options.map ?? "sunspec");
  const log = createLogger("simulator-modbus-tcp");

  // unitID 255: answer every unit ID and pass it to the vector, which routes it to a device.
  const server = new ServerTCP(modbusServiceVector(devices, map), { host, port, unitID: 255 });
  const netServer = netServerOf(server);
  guardModbusRequests(netServer, {
    ignoreUnit: (unitId) => deviceAt(devices, unitId)?.link().kind === "silent",
    replyFilter: (frame) => {
      const device = deviceAt(devices, frame[6] ?? 0);
      return device ? damageTcpReply(frame, replyDamage(device)) : frame;
    },
  });
  server.on("socketError", (err: unknown) => log.debug({ err }, "client socket error"));
  server.on("error", (err: unknown) => log.warn({ err }, "modbus server error"));
  await listen(server, port, setting);
  const address = netServer.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  log.info({ host, port: actualPort, map: map.name, units: devices.map((d) => d.unitId) }, "Modbus TCP server listening");

  let closing: Promise<void> | undefined;
  return {
    host,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
