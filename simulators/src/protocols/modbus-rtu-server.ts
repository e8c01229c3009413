import { createLogger, hasValidCrc, withCrc } from "@bms/shared";
import { SerialPort } from "serialport";
import type { SimulatedDevice } from "../simulated-device";
import { damageRtuReply, replyDamage } from "./link-faults";
import { type ModbusMapSetting, registerMapFor } from "./modbus-register-map";
import { RtuFrameAssembler, t35Ms } from "./modbus-rtu-framing";
import { assertUniqueUnits, ModbusUnits } from "./modbus-units";

export interface ModbusRtuServerOptions {
  /** Serial device to serve on, e.g. one end of a socat pseudo-terminal pair. */
  path: string;
  /** Line speed; on a pseudo-terminal only the client's setting must agree. @default 115200 */
  baudRate?: number;
  /** The slaves on this line; each answers at its own unitId. */
  devices: readonly SimulatedDevice[];
  /** The register map every device presents. @default "sunspec" */
  map?: ModbusMapSetting;
  /** Silence that ends a request frame, ms. @default t3.5 at `baudRate` rounded up to whole ms (2 ms above 19200 baud) */
  frameGapMs?: number;
}

export interface RunningModbusRtuServer {
  path: string;
  close(): Promise<void>;
}

/** The unit ID of a broadcast: every slave carries out a write, none answers. */
const BROADCAST = 0;
/** Address + function + CRC. */
const MIN_FRAME_BYTES = 4;

/**
 * Modbus RTU slaves on one serial line (the `serialport` package), several unit IDs, on the
 * project's own framing (modbus-rtu-framing.ts): a request ends with a t3.5 silence and must carry
 * a good CRC (shared/src/modbus-crc.ts). As real RTU slaves: a frame with a bad CRC, an oversized frame, or
 * one for a unit not on this line is ignored (no reply); a broadcast (unit 0) write is carried out
 * by every slave with no reply; an unknown function or a bad length gets an exception; a silent
 * device ignores everything; a garbled one damages its replies.
 */
export async function startModbusRtuServer(options: ModbusRtuServerOptions): Promise<RunningModbusRtuServer> {
  const { devices, path } = options;
  assertUniqueUnits(devices);
  const map = registerMapFor(options.map ?? "sunspec");
  const units = new ModbusUnits(devices, map, "no-reply");
  const baudRate = options.baudRate ?? 115_200;
  const log = createLogger("simulator-modbus-rtu");

  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new Error(`cannot open ${path} for the Modbus RTU server: ${err.message}`)) : resolve())),
  );
  port.on("error", (err) => log.warn({ err, path }, "modbus rtu port error"));

  const onFrame = (frame: Buffer): void => {
    if (frame.length < MIN_FRAME_BYTES || !hasValidCrc(frame)) {
      log.debug({ bytes: frame.length }, "ignored a frame with a bad CRC or length");
      return;
    }
    const unitId = frame[0] ?? 0;
    const pdu = frame.subarray(1, frame.length - 2);
    if (unitId === BROADCAST) {
      units.broadcast(pdu);
      return;
    }
    const reply = units.answer(unitId, pdu);
    if (!reply || !port.isOpen) return;
    const out = withCrc(Buffer.concat([Buffer.from([unitId]), reply.pdu]));
    port.write(reply.device ? damageRtuReply(out, replyDamage(reply.device)) : out);
  };
  const gapMs = options.frameGapMs ?? Math.ceil(t35Ms(baudRate));
  const frames = new RtuFrameAssembler(gapMs, onFrame, (bytes) => log.debug({ bytes }, "ignored an oversized frame"));
  port.on("data", (chunk: Buffer) => frames.push(chunk));

  log.info({ path, baudRate, frameGapMs: gapMs, map: map.name, units: devices.map((d) => d.unitId) }, "Modbus RTU server listening");
  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        frames.stop();
        if (port.isOpen) port.close(() => resolve());
        else resolve();
      });
      return closing;
    },
  };
}
