import { withCrc } from "@bms/shared";
import type { SimulatedDevice } from "../simulated-device";

/** What a garbled link does to one reply. */
export type ReplyDamage = "none" | "crc" | "truncate" | "wrong-unit";

/**
 * One draw from the device's seeded link stream decides the fate of one reply (so a run repeats):
 * the rates are cumulative slices of [0, 1). An ok link never draws, so its stream stays untouched.
 */
export function replyDamage(device: SimulatedDevice): ReplyDamage {
  const link = device.link();
  if (link.kind !== "garbled") return "none";
  const r = device.linkRandom();
  if (r < link.crcErrorRate) return "crc";
  if (r < link.crcErrorRate + link.truncateRate) return "truncate";
  if (r < link.crcErrorRate + link.truncateRate + link.wrongUnitRate) return "wrong-unit";
  return "none";
}

/** Another valid unit ID (1–247), as a neighbour on the line would answer with. */
export function otherUnit(unitId: number): number {
  return unitId >= 247 ? 1 : unitId + 1;
}

/**
 * An RTU reply (unit, PDU, CRC) as a garbled line delivers it: a flipped CRC byte, the first half
 * of the frame, or a well-formed reply carrying the wrong unit ID.
 */
export function damageRtuReply(frame: Buffer, damage: ReplyDamage): Buffer {
  switch (damage) {
    case "none":
      return frame;
    case "crc": {
      const out = Buffer.from(frame);
      const last = out.length - 1;
      out[last] = (out[last] ?? 0) ^ 0x5a;
      return out;
    }
    case "truncate":
      return frame.subarray(0, Math.max(2, Math.floor(frame.length / 2)));
    case "wrong-unit": {
      const body = Buffer.from(frame.subarray(0, frame.length - 2));
      body[0] = otherUnit(body[0] ?? 1);
      return withCrc(body);
    }
  }
}

/**
 * A Modbus TCP reply (MBAP + unit + PDU) through a garbled serial-to-TCP gateway: TCP has no CRC, so
 * a CRC error downstream means the gateway drops the reply (null: the client times out); a
 * truncated reply keeps its MBAP length but loses its tail; a wrong unit ID is rewritten in place.
 */
export function damageTcpReply(frame: Buffer, damage: ReplyDamage): Buffer | null {
  switch (damage) {
    case "none":
      return frame;
    case "crc":
      return null;
    case "truncate":
      return frame.subarray(0, Math.max(7, Math.floor(frame.length / 2)));
    case "wrong-unit": {
      const out = Buffer.from(frame);
      out[6] = otherUnit(out[6] ?? 1);
      return out;
    }
  }
}
