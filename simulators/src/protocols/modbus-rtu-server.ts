import { Duplex, Transform } from "node:stream";
import { createLogger } from "@bms/shared";
import { ServerSerial } from "modbus-serial";
import { checkPdu } from "../modbus-request-guard";
import type { SimulatedDevice } from "../simulated-device";
import { damageRtuReply, replyDamage } from "./link-faults";
import { hasValidCrc, withCrc } from "./modbus-crc";
import { type ModbusMapSetting, registerMapFor } from "./modbus-register-map";
import { assertUniqueUnits, deviceAt, modbusServiceVector } from "./modbus-service-vector";

export interface ModbusRtuServerOptions {
  /** Serial device to serve on, e.g. one end of a socat pseudo-terminal pair. */
  path: string;
  /** Line speed; on a pseudo-terminal only the client's setting must agree. @default 115200 */
  baudRate?: number;
  /** The slaves on this line; each answers at its own unitId. */
  devices: readonly SimulatedDevice[];
  /** The register map every device presents. @default "sunspec" */
  map?: ModbusMapSetting;
  /** Silence that ends a request frame, ms (modbus-serial's framing; t3.5 is far shorter, a pty needs slack). @default 20 */
  frameGapMs?: number;
}

export interface RunningModbusRtuServer {
  path: string;
  close(): Promise<void>;
}

/** Largest RTU frame: address + PDU (253) + CRC (bms-protocols.md §4). */
const MAX_ADU = 256;

/** modbus-serial keeps the framing stream private; requests are checked there before it parses them. */
function framesOf(server: ServerSerial): Transform {
  const inner: unknown = Reflect.get(server, "_server");
  if (!(inner instanceof Transform)) throw new Error("modbus-serial's ServerSerial no longer has a _server framing stream: update modbus-rtu-server.ts");
  return inner;
}

/** The serial port ServerSerial opened (its `_serverPath`, also returned by its untyped getPort()). */
function serialPortOf(server: ServerSerial): Duplex {
  const inner: unknown = Reflect.get(server, "_serverPath");
  if (!(inner instanceof Duplex)) throw new Error("modbus-serial's ServerSerial no longer has a _serverPath serial port: update modbus-rtu-server.ts");
  return inner;
}

/**
 * Modbus RTU slaves on one serial line (modbus-serial's ServerSerial), several unit IDs, behaving as
 * real RTU slaves do: a frame with a bad CRC, an oversized frame, a broadcast or a frame for a unit
 * not on this simulator is ignored (no reply); an unknown function or a bad length gets an
 * exception; a silent device ignores everything; a garbled one damages its replies.
 */
export async function startModbusRtuServer(options: ModbusRtuServerOptions): Promise<RunningModbusRtuServer> {
  const { devices, path } = options;
  assertUniqueUnits(devices);
  const map = registerMapFor(options.map ?? "sunspec");
  const log = createLogger("simulator-modbus-rtu");
  let port: { write(data: Buffer): unknown } | undefined;

  /** Every reply goes out through the device's link. */
  const reply = (frame: Buffer): void => {
    const device = deviceAt(devices, frame[0] ?? 0);
    const out = device ? damageRtuReply(frame, replyDamage(device)) : frame;
    port?.write(out);
  };

  let server: ServerSerial | undefined;
  await new Promise<void>((resolve, reject) => {
    const serverOptions = {
      path,
      baudRate: options.baudRate ?? 115200,
      parity: "none" as const,
      unitID: 255,
      interval: options.frameGapMs ?? 20,
      portResponse: { write: reply },
      openCallback: (err: Error | null) => (err ? reject(new Error(`cannot open ${path} for the Modbus RTU server: ${err.message}`)) : resolve()),
    };
    server = new ServerSerial(modbusServiceVector(devices, map), serverOptions);
  });
  if (!server) throw new Error("ServerSerial was not created");
  port = serialPortOf(server);
  server.on("socketError", (err: unknown) => log.debug({ err }, "serial framing error"));
  server.on("error", (err: unknown) => log.warn({ err }, "modbus rtu server error"));

  const frames = framesOf(server);
  const deliver = frames.emit.bind(frames);
  frames.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    const frame = args[0];
    if (event !== "data" || !Buffer.isBuffer(frame)) return deliver(event, ...args);
    if (frame.length < 4 || frame.length > MAX_ADU || !hasValidCrc(frame)) {
      log.debug({ bytes: frame.length }, "ignored a frame with a bad CRC or length");
      return true;
    }
    const device = deviceAt(devices, frame[0] ?? 0);
    if (!device || device.link().kind === "silent") return true; // another slave's address, a broadcast, or a dead link
    const pdu = frame.subarray(1, frame.length - 2);
    const verdict = checkPdu(pdu);
    if (verdict === "pass") return deliver("data", frame);
    reply(withCrc(Buffer.from([frame[0] ?? 0, ((pdu[0] ?? 0) | 0x80) & 0xff, verdict])));
    return true;
  };

  log.info({ path, map: map.name, units: devices.map((d) => d.unitId) }, "Modbus RTU server listening");
  let closing: Promise<void> | undefined;
  const running = server;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => running.close(() => resolve()));
      return closing;
    },
  };
}
