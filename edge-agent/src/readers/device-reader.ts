import type { BmsAlarmCode, PackSample } from "@bms/shared";

/** A pack sample before validation: the shape of PackSample, not yet checked against its bounds. */
export type DecodedSample = Omit<Partial<PackSample>, "v" | "ts" | "seq" | "cellVoltages" | "cellTemperatures" | "bmsAlarms"> & {
  v: 1;
  ts: number;
  seq: number;
  cellVoltages: number[];
  cellTemperatures: number[];
  bmsAlarms?: BmsAlarmCode[];
};

/** What a BMS says about itself; the rest of the pack meta comes from the device config. */
export interface PackIdentity {
  manufacturer?: string;
  model?: string;
  serial?: string;
  bmsFirmware?: string;
  cellCount?: number;
  /** Ah. */
  ratedCapacity?: number;
  /** YYYY-MM-DD. */
  warrantyEnd?: string;
}

export interface DeviceReading {
  /** When the values were read (the last reply or frame), ms since the epoch. */
  ts: number;
  sample: DecodedSample;
  /** Present on the first read and after a reset: the pack meta is published from it. */
  identity?: PackIdentity;
}

/**
 * One BMS behind a transport, read through its profile (SunSpec discovery, a register profile, the
 * Pylontech CAN frames). Errors are the transport's typed ones or a DecodeError.
 */
export interface DeviceReader {
  readonly endpoint: string;
  read(): Promise<DeviceReading>;
  /** Forget what was discovered: the next read starts over and returns the identity again. */
  reset(): void;
}

/**
 * Absent, not undefined-valued: the JSON on the wire should not carry empty keys. A copy, not
 * `delete`: an object that lost keys turns into a slow dictionary, and every sample is read again
 * by validation, the filter and the publisher.
 */
export function withoutUndefined<T extends object>(value: T): T {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out as T;
}
