/**
 * Modbus TCP framing (Modbus messaging on TCP/IP implementation guide v1.0b §3.1.3): each ADU is
 * an MBAP header (transaction ID 2 bytes, protocol ID 2 bytes = 0, length 2 bytes = unit ID + PDU)
 * then the unit ID and the PDU. The length field is the only delimiter: a stream whose length
 * field no request can have cannot be framed any more.
 */

export const MBAP_HEADER_BYTES = 7;
/** Length field: unit ID + function code at least, unit ID + a 253-byte PDU at most. */
const MIN_LENGTH = 2;
const MAX_LENGTH = 254;

/** One request as it came off the stream. */
export interface MbapRequest {
  transactionId: number;
  /** 0 for Modbus; anything else is another protocol and is ignored. */
  protocolId: number;
  unitId: number;
  /** A view into the received bytes: read it before the next push(). */
  pdu: Buffer;
}

/** Cuts a TCP byte stream into MBAP requests, however the stream was split or joined. */
export class MbapFramer {
  private pending: Buffer = Buffer.alloc(0);
  private broken = false;

  /** True once a length field no request can have was seen: close the connection. */
  get unframeable(): boolean {
    return this.broken;
  }

  /** The whole requests `chunk` completes, in order; after an unframeable header, none. */
  push(chunk: Buffer): MbapRequest[] {
    if (this.broken) return [];
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const requests: MbapRequest[] = [];
    while (buffer.length >= 6) {
      const length = buffer.readUInt16BE(4);
      if (length < MIN_LENGTH || length > MAX_LENGTH) {
        this.broken = true;
        buffer = Buffer.alloc(0);
        break;
      }
      const total = 6 + length;
      if (buffer.length < total) break;
      requests.push({
        transactionId: buffer.readUInt16BE(0),
        protocolId: buffer.readUInt16BE(2),
        unitId: buffer[6] ?? 0,
        pdu: buffer.subarray(MBAP_HEADER_BYTES, total),
      });
      buffer = buffer.subarray(total);
    }
    // Keep only the incomplete tail, copied, so a large chunk is not held for a few bytes.
    this.pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
    return requests;
  }
}

/** A response ADU: the request's transaction ID echoed, protocol 0, the length, the unit ID, the PDU. */
export function mbapFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(MBAP_HEADER_BYTES + pdu.length);
  frame.writeUInt16BE(transactionId, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt16BE(1 + pdu.length, 4);
  frame[6] = unitId;
  pdu.copy(frame, MBAP_HEADER_BYTES);
  return frame;
}
