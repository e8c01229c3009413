import {
  type BmsHistory,
  type CaptureParams,
  type CaptureSummary,
  MAX_CAPTURE_PART_SAMPLES,
  PackSample,
  type ResetAlarmsResult,
  type SetParameterParams,
  type SetParameterResult,
} from "@bms/shared";
import type { AgentCommandsConfig } from "@bms/shared/config/edge-agent-config";
import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { encodeWrite } from "@bms/shared/sunspec/point-write";
import { decodeEventLog } from "../profiles/event-log-decoder";
import { RegisterImage } from "../profiles/profile-decoder";
import { planReads } from "../profiles/read-plan";
import { readRegisters } from "../transports/register-transport";
import { CommandRefusal } from "./command-refusal";
import type { DiagnosticDevice } from "./diagnostic-device";
import { readParameter, writeParameter } from "./parameter-access";

/** What a kind may use while it runs. */
export interface KindContext {
  device: DiagnosticDevice;
  config: AgentCommandsConfig;
  /** A capture hands its samples on in parts as it goes. */
  emitPart(part: number, samples: PackSample[]): void;
  /** True once the agent is stopping: a capture ends early. */
  stopping(): boolean;
  /** After a parameter changed: republish the pack's parameters. */
  parametersChanged(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function busOf(device: DiagnosticDevice, what: string) {
  if (!device.bus) throw new CommandRefusal(`${device.packId} is read over CAN: it has no registers to ${what}`);
  return device.bus;
}

/** read-event-log: the event-log registers the profile declares, read in as few requests as may be, decoded. */
export async function readEventLog(ctx: KindContext): Promise<BmsHistory> {
  const { device } = ctx;
  const bus = busOf(device, "read an event log from");
  const profile = device.profile;
  if (!profile?.eventLog) throw new CommandRefusal(`the profile of ${device.packId} declares no eventLog`);
  const image = new RegisterImage();
  for (const r of planReads(profile, "eventLog")) image.put(r.space, r.address, await readRegisters(bus.transport, r.space, bus.unitId, r.address, r.count));
  return decodeEventLog(profile, image, Date.now());
}

async function alarmsNow(device: DiagnosticDevice) {
  return (await device.reader.read()).sample.bmsAlarms ?? [];
}

/** reset-alarms: the profile's alarm reset, else SunSpec 802 AlmRst; the alarms read before and after. */
export async function resetAlarms(ctx: KindContext): Promise<ResetAlarmsResult> {
  const { device, config } = ctx;
  if (!config.resetAlarms) throw new CommandRefusal("this site's agent does not reset alarms (commands.resetAlarms is false)");
  const bus = busOf(device, "reset alarms through");
  const reset = device.profile?.alarmReset;
  if (!reset && !bus.sunspec) throw new CommandRefusal(`the profile of ${device.packId} declares no alarmReset`);
  const before = await alarmsNow(device);
  if (reset) await bus.transport.writeRegisters(bus.unitId, reset.address, [reset.value]);
  else if (bus.sunspec) {
    const map = bus.sunspec.map ?? (await bus.sunspec.discover());
    const block = await bus.transport.readHoldingRegisters(bus.unitId, map.battery.address, 2 + map.battery.length);
    const write = encodeWrite(MODEL_BATTERY, block, "AlmRst", 1);
    await bus.transport.writeRegisters(bus.unitId, map.battery.address + write.offset, write.words);
  }
  const after = await alarmsNow(device);
  return { before, after, cleared: before.filter((a) => !after.includes(a)) };
}

/** set-parameter: only a declared point, inside its bounds; read before, written, read back. */
export async function setParameter(ctx: KindContext, params: SetParameterParams): Promise<SetParameterResult> {
  const { device, config } = ctx;
  if (!config.setParameter) throw new CommandRefusal("this site's agent does not change settings (commands.setParameter is false)");
  const bus = busOf(device, "write");
  const declared = device.profile?.parameters ?? [];
  const p = declared.find((d) => d.name === params.name);
  if (!p) {
    const names = declared.map((d) => d.name).join(", ") || "none";
    throw new CommandRefusal(`${device.packId} has no writable point ${params.name} (its points: ${names})`);
  }
  if (params.value < p.min || params.value > p.max) {
    throw new CommandRefusal(`${p.name} must lie within ${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}: ${params.value} is outside; nothing was written`);
  }
  const before = await readParameter(bus, p);
  await writeParameter(bus, p, params.value);
  const after = await readParameter(bus, p);
  ctx.parametersChanged();
  return { name: p.name, unit: p.unit ?? null, before, requested: params.value, after };
}

/** capture: the pack read at `hz` for `seconds` (within the agent's limits), in parts of up to 50 samples. */
export async function capture(ctx: KindContext, params: CaptureParams): Promise<CaptureSummary> {
  const { device, config } = ctx;
  if (params.hz > config.maxCaptureHz || params.seconds > config.maxCaptureSeconds) {
    throw new CommandRefusal(`this site's agent captures at most ${config.maxCaptureHz} Hz for ${config.maxCaptureSeconds} s`);
  }
  const periodMs = 1000 / params.hz;
  const startedAt = Date.now();
  const endAt = startedAt + params.seconds * 1000;
  let pending: PackSample[] = [];
  let samples = 0;
  let parts = 0;
  let failedReads = 0;
  const flush = () => {
    if (pending.length === 0) return;
    ctx.emitPart(parts++, pending);
    pending = [];
  };
  for (let due = startedAt; due < endAt && !ctx.stopping(); due += periodMs) {
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -periodMs) continue; // a slow read: skip the ticks it overran, the rate drops
    try {
      const reading = await device.reader.read();
      const sample = PackSample.safeParse({ ...reading.sample, seq: samples });
      if (!sample.success) {
        failedReads += 1;
        continue;
      }
      pending.push(sample.data);
      samples += 1;
      if (pending.length >= MAX_CAPTURE_PART_SAMPLES) flush();
    } catch {
      failedReads += 1;
    }
  }
  flush();
  return { hz: params.hz, seconds: params.seconds, startedAt, endedAt: Date.now(), samples, parts, failedReads };
}
