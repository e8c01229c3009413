import { createServer, type Server, type Socket } from "node:net";
import { createLogger, DEFAULT_PORTS, isAddressInUse, PortInUseError } from "@bms/shared";
import type { SimulatedDevice } from "../simulated-device";
import { damageTcpReply, replyDamage } from "./link-faults";
import { MbapFramer, mbapFrame } from "./modbus-mbap";
import { type ModbusMapSetting, registerMapFor } from "./modbus-register-map";
import { assertUniqueUnits, ModbusUnits } from "./modbus-units";

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
  /** Replies a client may leave unread before the server stops reading its requests, bytes. @default 65536 */
  maxUnreadReplyBytes?: number;
}

export interface RunningModbusTcpServer {
  host: string;
  /** The port it listens on (the real one when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => reject(isAddressInUse(err) ? new PortInUseError(port, setting) : err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.removeListener("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/**
 * Modbus TCP over a list of devices, on the project's own framing (modbus-mbap.ts): any number of
 * connections; on each, requests are answered in the order they arrive, however the stream splits
 * or pipelines them, each reply echoing its request's transaction ID. Unit ID N = the device whose
 * unitId is N, laid out by `map`; functions 3, 4, 6 and 16 (modbus-units.ts). Malformed and
 * unsupported requests get exceptions; a frame whose protocol ID is not 0 is ignored; a length
 * field no request can have closes that connection only. A silent device gets no reply at all; a
 * garbled one has replies dropped, truncated or sent with the wrong unit ID, by its seeded link stream.
 */
export async function startModbusTcpServer(options: ModbusTcpServerOptions): Promise<RunningModbusTcpServer> {
  const host = options.host ?? "0.0.0.0";
  const { devices } = options;
  assertUniqueUnits(devices);
  const map = registerMapFor(options.map ?? "sunspec");
  const units = new ModbusUnits(devices, map, "gateway-exception");
  const maxUnread = options.maxUnreadReplyBytes ?? 65_536;
  const log = createLogger("simulator-modbus-tcp");
  const sockets = new Set<Socket>();

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new MbapFramer();
    socket.on("data", (chunk: Buffer) => {
      for (const request of framer.push(chunk)) {
        if (request.protocolId !== 0) continue; // not Modbus: ignored, as the spec says
        const reply = units.answer(request.unitId, request.pdu);
        if (!reply) continue;
        const frame = mbapFrame(request.transactionId, request.unitId, reply.pdu);
        const out = reply.device ? damageTcpReply(frame, replyDamage(reply.device)) : frame;
        if (out) socket.write(out);
      }
      if (framer.unframeable) {
        log.debug({ remote: socket.remoteAddress }, "closed a connection whose stream cannot be framed");
        socket.end(() => socket.destroy());
      } else if (socket.writableLength > maxUnread && !socket.isPaused()) {
        // A client that pipelines without reading: stop reading until it catches up.
        socket.pause();
        socket.once("drain", () => socket.resume());
      }
    });
    socket.on("error", (err) => log.debug({ err }, "client socket error"));
    socket.on("close", () => sockets.delete(socket));
  };

  const server = createServer(serve);
  const port = await listen(server, host, options.port ?? DEFAULT_PORTS.simulatorModbus, options.portSetting ?? "--port");
  server.on("error", (err) => log.warn({ err }, "modbus server error"));
  log.info({ host, port, map: map.name, units: devices.map((d) => d.unitId) }, "Modbus TCP server listening");

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
