import { z } from "zod";
import { MODEL_802 } from "./sunspec/model-table";

/**
 * The one vocabulary of BMS-reported alarm codes: SunSpec model 802 Evt1 point names (from the
 * generated model table, its reserved bit left out). CAN 0x359/0x35A flags are mapped onto these by
 * the CAN decoder. Value = Evt1 bit number.
 */
const { RESERVED_1: _reserved, ...evt1Bits } = MODEL_802.points.Evt1.symbols;
export const EVT1_BITS = evt1Bits;

export type BmsAlarmCode = keyof typeof EVT1_BITS;

const CODES = Object.keys(EVT1_BITS) as [BmsAlarmCode, ...BmsAlarmCode[]];
export const BmsAlarmCode = z.enum(CODES);

/** Decodes a 32-bit Evt1 bitfield into alarm codes, in bit order. Unknown bits are ignored. */
export function evt1ToAlarms(bits: number): BmsAlarmCode[] {
  return CODES.filter((code) => ((bits >>> EVT1_BITS[code]) & 1) === 1);
}

/** Encodes alarm codes into a 32-bit Evt1 bitfield (unsigned). */
export function alarmsToEvt1(codes: readonly BmsAlarmCode[]): number {
  let bits = 0;
  for (const code of codes) bits |= 1 << EVT1_BITS[code];
  return bits >>> 0;
}
