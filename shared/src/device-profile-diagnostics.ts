import { z } from "zod";
import { BmsCounterName, BmsEventCode } from "./bms-history";
import { registerSize } from "./device-profile-codec";
import { Address, checkEncoding, Encoding, type NamedSpan, RegisterSpace } from "./device-profile-encoding";
import type { RegisterType } from "./register-types";
import { ParameterName } from "./remote-command";
import { modelDefinition } from "./sunspec/models";

/**
 * The parts of a device profile that remote diagnosis uses (docs/remote-diagnosis.md): the points
 * an engineer may set, the BMS's event log and lifetime counters, and its alarm reset. A vendor
 * profile declares them beside its sample points; a SunSpec device takes them from a profile of
 * their own (`devices[].diagnostics`), for the vendor registers beside its SunSpec map.
 */

/** Types a settable number may have. */
const NUMBER_TYPES: readonly RegisterType[] = ["uint16", "int16", "uint32", "int32", "float32", "enum16"];

/** A SunSpec point to set: a read-write point of a model's fixed block, found through the discovered map. */
export const SunSpecPointRef = z
  .object({
    /** Model ID, e.g. 802. */
    model: z.number().int().min(1).max(0xfffe),
    /** Point name of the model's fixed block, e.g. SoCRsvMin. */
    point: z.string().min(1).max(64),
  })
  .strict()
  .superRefine((ref, ctx) => {
    const model = modelDefinition(ref.model);
    if (!model) return void ctx.addIssue({ code: "custom", path: ["model"], message: `SunSpec model ${ref.model} is not one this codec knows (1, 802–805)` });
    const def = model.points[ref.point];
    if (!def) return void ctx.addIssue({ code: "custom", path: ["point"], message: `model ${ref.model} has no point ${ref.point} in its fixed block` });
    if (def.access !== "RW") ctx.addIssue({ code: "custom", path: ["point"], message: `${ref.point} of model ${ref.model} is read-only` });
    if (!NUMBER_TYPES.includes(def.type as RegisterType)) {
      ctx.addIssue({ code: "custom", path: ["point"], message: `${ref.point} is a ${def.type}: only numbers can be set` });
    }
  });
export type SunSpecPointRef = z.infer<typeof SunSpecPointRef>;

/**
 * A point an engineer may set (`set-parameter`, admin): a holding register (or two) with its
 * encoding, or a SunSpec point; with bounds in engineering units. Nothing outside [min, max] is
 * ever written.
 */
export const ProfileParameter = Encoding.partial({ type: true })
  .extend({
    name: ParameterName,
    description: z.string().max(200).optional(),
    /** The register; give this (with `type`) or `sunspec`. */
    address: Address.optional(),
    sunspec: SunSpecPointRef.optional(),
    min: z.number().finite(),
    max: z.number().finite(),
    /** The factory setting (the simulator starts with it). @default min */
    default: z.number().finite().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.address === undefined) === (p.sunspec === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "give address (a register) or sunspec (a SunSpec point), not both" });
    }
    if (p.address !== undefined) {
      if (p.type === undefined) ctx.addIssue({ code: "custom", path: ["type"], message: "a register parameter needs its type" });
      else {
        checkEncoding({ ...p, type: p.type }, ctx);
        if (!NUMBER_TYPES.includes(p.type))
          ctx.addIssue({ code: "custom", path: ["type"], message: `a parameter is a number: one of ${NUMBER_TYPES.join(", ")}` });
      }
      if (p.registers === "input")
        ctx.addIssue({ code: "custom", path: ["registers"], message: "input registers cannot be written: a parameter is a holding register" });
    } else if (p.type !== undefined || p.scale !== undefined || p.scaleFactor !== undefined || p.scaleFactorRegister !== undefined) {
      ctx.addIssue({ code: "custom", path: ["sunspec"], message: "a SunSpec parameter takes its type and scale factor from the model" });
    }
    if (p.min > p.max) ctx.addIssue({ code: "custom", path: ["max"], message: `max ${p.max} is below min ${p.min}` });
    if (p.default !== undefined && (p.default < p.min || p.default > p.max)) {
      ctx.addIssue({ code: "custom", path: ["default"], message: `the default ${p.default} lies outside ${p.min}–${p.max}` });
    }
  });
export type ProfileParameter = z.output<typeof ProfileParameter>;

/** A register holding one counter (counts, or an extreme in V or °C). */
export const ProfileCounter = Encoding.extend({ counter: BmsCounterName, address: Address })
  .strict()
  .superRefine((c, ctx) => {
    checkEncoding(c, ctx);
    if (c.type === "string") ctx.addIssue({ code: "custom", path: ["type"], message: "a counter is a number" });
  });
export type ProfileCounter = z.output<typeof ProfileCounter>;

/** Where a field lies in an event-log entry: registers from the entry's first. */
const EntryPosition = z.number().int().min(0).max(63);

/** One field of an event-log entry. */
const EntryField = (defaultType: "uint16" | "uint32") =>
  Encoding.pick({ byteOrder: true })
    .extend({ at: EntryPosition, type: z.enum(["uint16", "uint32"]).default(defaultType) })
    .strict();

/**
 * The BMS's event log: a ring of `count` entries `stride` registers apart from `address`, the
 * newest at (head − 1) mod count, where `head` counts the events logged in all. Each entry has a
 * code (0: an empty slot; `codes` names the others), a timestamp (seconds since `epoch`) and a value.
 */
export const ProfileEventLog = z
  .object({
    /** @default the profile's `registers` */
    registers: RegisterSpace.optional(),
    address: Address,
    /** Entries in the ring. */
    count: z.number().int().min(1).max(4096),
    /** Registers from one entry to the next. */
    stride: z.number().int().min(1).max(64),
    /** Events logged in all. */
    head: Encoding.pick({ byteOrder: true })
      .extend({ address: Address, type: z.enum(["uint16", "uint32"]).default("uint32") })
      .strict(),
    code: EntryField("uint16"),
    timestamp: EntryField("uint32").extend({
      /** What 0 counts from: the Unix epoch, or 2000-01-01 (as SunSpec dates do). @default "unix" */
      epoch: z.enum(["unix", "2000"]).default("unix"),
    }),
    /** The value's encoding (`offset` is added after scaling, as everywhere) and where it lies in the entry. */
    value: Encoding.omit({ registers: true, missing: true, scaleFactorRegister: true, unit: true }).extend({ at: EntryPosition }).strict(),
    /** Raw code → event; codes not named here read as CODE_<n>. */
    codes: z.record(z.string().regex(/^[1-9]\d{0,4}$/, "a code 1-65535"), BmsEventCode),
    counters: z.array(ProfileCounter).max(32).default([]),
  })
  .strict()
  .superRefine((log, ctx) => {
    const fields = [
      { name: "code", at: log.code.at, size: registerSize(log.code.type) },
      { name: "timestamp", at: log.timestamp.at, size: registerSize(log.timestamp.type) },
      { name: "value", at: log.value.at, size: registerSize(log.value.type) },
    ];
    for (const f of fields) {
      if (f.at + f.size > log.stride)
        ctx.addIssue({ code: "custom", path: [f.name, "at"], message: `${f.name} runs past the entry's ${log.stride} registers` });
    }
    for (let i = 0; i < fields.length; i++) {
      for (let j = i + 1; j < fields.length; j++) {
        const a = fields[i];
        const b = fields[j];
        if (a && b && a.at < b.at + b.size && b.at < a.at + a.size) {
          ctx.addIssue({ code: "custom", path: [b.name, "at"], message: `${b.name} overlaps ${a.name} in the entry` });
        }
      }
    }
    if (log.value.type === "string") ctx.addIssue({ code: "custom", path: ["value", "type"], message: "an event's value is a number" });
    const seen = new Set<string>();
    log.counters.forEach((c, i) => {
      if (seen.has(c.counter)) ctx.addIssue({ code: "custom", path: ["counters", i, "counter"], message: `${c.counter} is counted twice` });
      seen.add(c.counter);
    });
  });
export type ProfileEventLog = z.output<typeof ProfileEventLog>;

/** The vendor's equivalent of SunSpec 802 AlmRst: write `value` to this holding register. */
export const ProfileAlarmReset = z
  .object({
    address: Address,
    /** The raw value that asks for the reset. @default 1 */
    value: z.number().int().min(0).max(0xffff).default(1),
  })
  .strict();
export type ProfileAlarmReset = z.output<typeof ProfileAlarmReset>;

/** The diagnostic sections of a profile, as device-profile.ts adds them. */
export const DiagnosticSections = {
  /** Points an engineer may set (set-parameter). @default [] */
  parameters: z.array(ProfileParameter).max(64).default([]),
  eventLog: ProfileEventLog.optional(),
  alarmReset: ProfileAlarmReset.optional(),
};

interface DiagnosticsShape {
  registers: RegisterSpace;
  parameters: readonly ProfileParameter[];
  eventLog?: ProfileEventLog | undefined;
  alarmReset?: ProfileAlarmReset | undefined;
}

/** The registers the diagnostic sections occupy, for the profile's overlap and block checks and its footprint. */
export function diagnosticSpans(profile: DiagnosticsShape): NamedSpan[] {
  const spans: NamedSpan[] = [];
  profile.parameters.forEach((p, i) => {
    if (p.address === undefined || p.type === undefined) return;
    spans.push({ space: "holding", from: p.address, to: p.address + registerSize(p.type), what: `parameters.${i}`, path: ["parameters", i] });
    if (p.scaleFactorRegister !== undefined) {
      const at = p.scaleFactorRegister;
      spans.push({
        space: "holding",
        from: at,
        to: at + 1,
        what: `parameters.${i}.scaleFactorRegister`,
        path: ["parameters", i, "scaleFactorRegister"],
        scaleFactor: true,
      });
    }
  });
  const log = profile.eventLog;
  if (log) {
    const space = log.registers ?? profile.registers;
    spans.push({ space, from: log.address, to: log.address + log.count * log.stride, what: "eventLog", path: ["eventLog"] });
    spans.push({ space, from: log.head.address, to: log.head.address + registerSize(log.head.type), what: "eventLog.head", path: ["eventLog", "head"] });
    log.counters.forEach((c, i) => {
      const own = c.registers ?? space;
      spans.push({ space: own, from: c.address, to: c.address + registerSize(c.type), what: `eventLog.counters.${i}`, path: ["eventLog", "counters", i] });
      if (c.scaleFactorRegister !== undefined) {
        const at = c.scaleFactorRegister;
        const what = `eventLog.counters.${i}.scaleFactorRegister`;
        spans.push({ space: own, from: at, to: at + 1, what, path: ["eventLog", "counters", i, "scaleFactorRegister"], scaleFactor: true });
      }
    });
  }
  if (profile.alarmReset) {
    const at = profile.alarmReset.address;
    spans.push({ space: "holding", from: at, to: at + 1, what: "alarmReset", path: ["alarmReset"] });
  }
  return spans;
}

/** Every parameter has its own name. */
export function checkParameterNames(parameters: readonly ProfileParameter[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  parameters.forEach((p, i) => {
    if (seen.has(p.name)) ctx.addIssue({ code: "custom", path: ["parameters", i, "name"], message: `a second parameter named ${p.name}` });
    seen.add(p.name);
  });
}
