import { type BmsCounters, type BmsEvent, type BmsHistory, bmsEventUnit, EpochMs } from "@bms/shared";
import { type DeviceProfile, decodeProfileValue, type ProfileEventLog, registerSize } from "@bms/shared/device-profile";
import { ProfileDecodeError, type RegisterImage } from "./profile-decoder";

/** Seconds from the Unix epoch to 2000-01-01 (SunSpec dates count from it). */
const UNIX_2000_S = 946_684_800;
const MAX_ABS_SCALE_FACTOR = 10;

function spaceOf(profile: DeviceProfile, log: ProfileEventLog) {
  return log.registers ?? profile.registers;
}

/** A timestamp as ms since the epoch, or null for a clock that was not set (0, or outside 2000–2100). */
function timeOf(seconds: number, epoch: "unix" | "2000"): number | null {
  if (seconds === 0) return null;
  const ms = (seconds + (epoch === "2000" ? UNIX_2000_S : 0)) * 1000;
  return EpochMs.safeParse(ms).success ? ms : null;
}

function counters(profile: DeviceProfile, log: ProfileEventLog, image: RegisterImage): BmsCounters {
  const out: BmsCounters = {};
  for (const [i, c] of log.counters.entries()) {
    const space = c.registers ?? spaceOf(profile, log);
    let sf: number | undefined;
    if (c.scaleFactorRegister !== undefined) {
      sf = decodeProfileValue(image.get(space, c.scaleFactorRegister, 1), { type: "sunssf" });
      if (sf === undefined) continue; // "not implemented"
      if (Math.abs(sf) > MAX_ABS_SCALE_FACTOR) {
        throw new ProfileDecodeError(`eventLog.counters.${i} (${c.counter}): scale factor register ${c.scaleFactorRegister} holds ${sf}, outside -10..10`);
      }
    }
    const value = decodeProfileValue(image.get(space, c.address, registerSize(c.type)), c, sf);
    if (value !== undefined) out[c.counter] = value;
  }
  return out;
}

/**
 * The BMS's event log and counters from the registers read (the read plan "eventLog"), oldest entry
 * first. The ring's newest entry is at (head − 1) mod count; empty slots (code 0) are left out;
 * a code the profile does not name reads CODE_<n>.
 */
export function decodeEventLog(profile: DeviceProfile, image: RegisterImage, readAt: number): BmsHistory {
  const log = profile.eventLog;
  if (!log) throw new ProfileDecodeError(`profile ${profile.name} declares no eventLog`);
  const space = spaceOf(profile, log);
  const head = decodeProfileValue(image.get(space, log.head.address, registerSize(log.head.type)), { type: log.head.type, byteOrder: log.head.byteOrder });
  const total = head ?? 0;
  // Slots from the oldest kept to the newest: after a wrap the oldest is the one the next event overwrites.
  const kept = Math.min(total, log.count);
  const slots = total > log.count ? Array.from({ length: kept }, (_, k) => (total - kept + k) % log.count) : Array.from({ length: log.count }, (_, k) => k);
  const events: BmsEvent[] = [];
  for (const slot of slots) {
    const base = log.address + slot * log.stride;
    const field = (offset: number, type: Parameters<typeof registerSize>[0]) => image.get(space, base + offset, registerSize(type));
    const raw = decodeProfileValue(field(log.code.at, log.code.type), { type: log.code.type, byteOrder: log.code.byteOrder }) ?? 0;
    if (raw === 0) continue;
    const code = log.codes[String(raw)] ?? `CODE_${raw}`;
    const seconds = decodeProfileValue(field(log.timestamp.at, log.timestamp.type), { type: log.timestamp.type, byteOrder: log.timestamp.byteOrder }) ?? 0;
    const value = decodeProfileValue(field(log.value.at, log.value.type), log.value);
    events.push({ code, at: timeOf(seconds, log.timestamp.epoch), value: value ?? null, unit: bmsEventUnit(code) });
  }
  return { readAt, capacity: log.count, totalEvents: head ?? null, events, counters: counters(profile, log, image) };
}
