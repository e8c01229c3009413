import type { SeededRandom } from "./seeded-random";

/** What draws or feeds current: a seeded slow cycle, or a fixed current (tests). */
export type LoadSetting = { kind: "cycle" } | { kind: "constant"; amps: number };

/** The current a load asks for; the BMS may allow less (see PackModel's current limits). */
export interface LoadProfile {
  /** Requested current in A (+ charging) for the next `dtSeconds`, given the present SOC in %. */
  request(socPercent: number, dtSeconds: number): number;
}

type Phase = "charge" | "rest-after-charge" | "discharge" | "rest-after-discharge";

/**
 * A slow charge/discharge cycle (solar day in miniature): charge at 0.2–0.45 C to an upper SOC
 * (95–99 %, tapering over the last 4 %), rest, discharge at 0.25–0.5 C to a lower SOC (8–20 %),
 * rest, repeat. Magnitudes, targets and rests are drawn once from the pack's PRNG; small noise per step.
 */
export class CycleLoadProfile implements LoadProfile {
  private phase: Phase;
  private restLeft = 0;
  private readonly chargeA: number;
  private readonly dischargeA: number;
  private readonly upperSoc: number;
  private readonly lowerSoc: number;
  private readonly restSeconds: number;

  constructor(
    private readonly random: SeededRandom,
    capacityAh: number,
  ) {
    this.chargeA = capacityAh * random.between(0.2, 0.45);
    this.dischargeA = capacityAh * random.between(0.25, 0.5);
    this.upperSoc = random.between(95, 99);
    this.lowerSoc = random.between(8, 20);
    this.restSeconds = random.between(120, 600);
    this.phase = random.next() < 0.5 ? "charge" : "discharge";
  }

  request(socPercent: number, dtSeconds: number): number {
    const noise = 1 + this.random.between(-0.02, 0.02);
    switch (this.phase) {
      case "charge":
        if (socPercent >= this.upperSoc) return this.rest("rest-after-charge");
        return this.chargeA * Math.min(1, Math.max(0.1, (this.upperSoc - socPercent) / 4)) * noise;
      case "discharge":
        if (socPercent <= this.lowerSoc) return this.rest("rest-after-discharge");
        return -this.dischargeA * noise;
      case "rest-after-charge":
      case "rest-after-discharge":
        this.restLeft -= dtSeconds;
        if (this.restLeft <= 0) this.phase = this.phase === "rest-after-charge" ? "discharge" : "charge";
        return 0;
    }
  }

  private rest(phase: Phase): number {
    this.phase = phase;
    this.restLeft = this.restSeconds;
    return 0;
  }
}

export class ConstantLoadProfile implements LoadProfile {
  constructor(private readonly amps: number) {}

  request(): number {
    return this.amps;
  }
}
