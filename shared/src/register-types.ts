import { z } from "zod";

/** Plain Modbus types, then SunSpec's (which carry SunSpec's "not implemented" values), then text. */
export const RegisterType = z.enum([
  "uint16",
  "int16",
  "uint32",
  "int32",
  "float32",
  "sunssf",
  "enum16",
  "bitfield16",
  "bitfield32",
  "acc16",
  "acc32",
  "string",
]);
export type RegisterType = z.infer<typeof RegisterType>;

/**
 * Order of the bytes of a value, A the most significant: ABCD big-endian (Modbus' own), DCBA
 * little-endian, BADC bytes swapped in each word, CDAB words swapped (low word first). A 16-bit
 * value is AB, or BA under DCBA and BADC; a string swaps the two characters of each register under
 * DCBA and BADC.
 */
export const ByteOrder = z.enum(["ABCD", "DCBA", "BADC", "CDAB"]);
export type ByteOrder = z.infer<typeof ByteOrder>;
