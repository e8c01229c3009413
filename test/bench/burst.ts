import type { PackSample } from "@bms/shared";
import { sendWithoutDelay, topics } from "@bms/shared";
import type { MqttClient } from "mqtt";

export interface BurstMessage {
  topic: string;
  payload: string;
}

/** A burst of realistic samples (16 cells, 16 sensors) spread over sites × packs, seq from `firstSeq`. */
export function makeBurst(count: number, firstSeq: number, sites = 10, packsPerSite = 10, base = Date.now()): BurstMessage[] {
  const out: BurstMessage[] = [];
  for (let i = 0; i < count; i++) {
    const site = `bench-site-${i % sites}`;
    const pack = `pack-${Math.floor(i / sites) % packsPerSite}`;
    const sample: PackSample = {
      v: 1,
      ts: base + i,
      seq: firstSeq + i,
      packVoltage: 52.8 + (i % 7) * 0.01,
      current: -20 + (i % 40),
      soc: 50 + (i % 50) * 0.5,
      soh: 97.5,
      cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + ((i + c) % 10) * 0.001),
      cellTemperatures: Array.from({ length: 16 }, (_, c) => 25 + ((i + c) % 5) * 0.1),
      cycleCount: 120,
    };
    out.push({ topic: topics.telemetry(site, pack), payload: JSON.stringify(sample) });
  }
  return out;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** The client's socket without Nagle's delay, now and after every reconnect, as the project's own clients run. */
export function withoutDelay<T extends MqttClient>(client: T): T {
  (client.stream as { setNoDelay?: (noDelay: boolean) => unknown }).setNoDelay?.(true);
  sendWithoutDelay(client);
  return client;
}
