/**
 * Modbus RTU CRC-16 (Modbus over Serial Line v1.02 §6.2.2): init 0xFFFF, reflected polynomial 0xA001, sent low
 * byte first. `01 03 9C 41 00 02` → 0x4FBA (bytes BA 4F on the wire).
 */
export function modbusCrc(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** `body` followed by its CRC, low byte first. */
export function withCrc(body: Uint8Array): Buffer {
  const out = Buffer.alloc(body.length + 2);
  out.set(body);
  out.writeUInt16LE(modbusCrc(body), body.length);
  return out;
}

/** True when the last two bytes of `frame` are the CRC of the rest. */
export function hasValidCrc(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const body = frame.subarray(0, frame.length - 2);
  const crc = (frame[frame.length - 2] ?? 0) | ((frame[frame.length - 1] ?? 0) << 8);
  return modbusCrc(body) === crc;
}
