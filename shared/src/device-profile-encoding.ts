import { z } from "zod";
import { ByteOrder, RegisterType } from "./register-types";

/** Modbus function 3 (holding registers) or 4 (input registers): two separate address spaces. */
export const RegisterSpace = z.enum(["holding", "input"]);
export type RegisterSpace = z.infer<typeof RegisterSpace>;

/** A 0-based protocol address. */
export const Address = z.number().int().min(0).max(0xffff);

export const MAX_ABS_SCALE_FACTOR = 10;

/** How one value is stored: shared by points, cell arrays, parameters and event-log fields. */
export const Encoding = z.object({
  type: RegisterType,
  /** @default "ABCD" */
  byteOrder: ByteOrder.default("ABCD"),
  /** Registers of a `string` (two characters each); only for strings. */
  size: z.number().int().min(1).max(64).optional(),
  /** Multiplier: value = raw × scale. @default 1 */
  scale: z.number().positive().finite().optional(),
  /** Exponent: value = raw × 10^scaleFactor (SunSpec style). */
  scaleFactor: z.number().int().min(-MAX_ABS_SCALE_FACTOR).max(MAX_ABS_SCALE_FACTOR).optional(),
  /** Address of a signed 16-bit exponent register (a SunSpec `sunssf`), in the same register space. */
  scaleFactorRegister: Address.optional(),
  /** Added after scaling, e.g. −273.15 for a temperature in kelvin. @default 0 */
  offset: z.number().finite().default(0),
  /** A raw value that means "the device does not have it" (the value is then left out). SunSpec types have theirs built in. */
  missing: z.number().int().optional(),
  /** Which read function; @default the profile's `registers` */
  registers: RegisterSpace.optional(),
  /** Unit of the decoded value, for people; the field fixes the real unit (V, A, °C, %, Ah, kΩ). */
  unit: z.string().max(16).optional(),
});
export type EncodingShape = z.infer<typeof Encoding>;

/** Issues that every encoded value shares: one scale, strings sized, numbers not sized. */
export function checkEncoding(value: EncodingShape, ctx: z.RefinementCtx): void {
  const scales = [value.scale, value.scaleFactor, value.scaleFactorRegister].filter((s) => s !== undefined).length;
  if (scales > 1) ctx.addIssue({ code: "custom", path: [], message: "give one of scale (a multiplier), scaleFactor (a power of ten) or scaleFactorRegister" });
  if (value.type === "string" && value.size === undefined) ctx.addIssue({ code: "custom", path: ["size"], message: "a string needs size (registers)" });
  if (value.type !== "string" && value.size !== undefined) ctx.addIssue({ code: "custom", path: ["size"], message: "size is only for strings" });
  if (value.type === "string" && scales > 0) ctx.addIssue({ code: "custom", path: [], message: "a string cannot be scaled" });
}

/** A range of one register space: [from, to). */
export interface RegisterSpan {
  space: RegisterSpace;
  from: number;
  /** Exclusive. */
  to: number;
}

/** A span the profile schema checks (inside a block, no overlap), with where it was declared. */
export interface NamedSpan extends RegisterSpan {
  what: string;
  path: (string | number)[];
  /** A scale-factor register: several values may share one. */
  scaleFactor?: boolean;
}
