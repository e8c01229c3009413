import { type ChemistryParameters, COMMON_LIMITS } from "./chemistry";

/** The BMS declares full/empty this close to the stop voltage (the taper approaches it asymptotically). */
const STOP_MARGIN_V = 0.003;

/**
 * The BMS's SOC and SOH estimates: coulomb counting of the measured current (a sensor with an
 * offset) against the estimated capacity, recalibrated at full and empty from the cells' rested
 * voltages; SOH learnt from the Ah counted on an empty → full pass. Also holds the full/empty
 * flags that stop charge and discharge.
 */
export class SocEstimator {
  /** %, as reported (kept within 0–100). */
  soc: number;
  /** %, as reported. */
  soh: number;
  full = false;
  empty = false;
  /** Ah counted since the BMS last calibrated at empty (for learning capacity at the next full). */
  private countedSinceEmpty: number | undefined;

  constructor(
    private readonly params: ChemistryParameters,
    /** Rated pack capacity, Ah. */
    private readonly capacityAh: number,
    /** A the current sensor reads over the true current. */
    private readonly sensorOffsetA: number,
    initialSoc: number,
    initialSoh: number,
  ) {
    this.soc = initialSoc;
    this.soh = initialSoh;
  }

  /** Counts `h` seconds of `current` (A, + charging; 0 with the contactor open) given the cells' OCVs. */
  update(h: number, current: number, ocv: readonly number[]): void {
    const measuredA = current === 0 ? 0 : current + this.sensorOffsetA; // the sensor reads 0 with the contactor open
    const countedAh = (measuredA * h) / 3600;
    const estimatedAh = this.capacityAh * (this.soh / 100);
    this.soc = Math.min(100, Math.max(0, this.soc + (countedAh / estimatedAh) * 100));
    if (this.countedSinceEmpty !== undefined) this.countedSinceEmpty += countedAh;

    const p = this.params;
    const maxOcv = Math.max(...ocv);
    const minOcv = Math.min(...ocv);
    if (!this.full && (maxOcv >= p.chargeStopV - STOP_MARGIN_V || this.soc >= COMMON_LIMITS.fullSoc)) {
      this.full = true;
      this.soc = COMMON_LIMITS.fullSoc;
      if (this.countedSinceEmpty !== undefined) {
        const learnt = (this.countedSinceEmpty / (this.capacityAh * ((COMMON_LIMITS.fullSoc - COMMON_LIMITS.emptySoc) / 100))) * 100;
        this.soh = Math.min(100, Math.max(10, (this.soh + learnt) / 2));
        this.countedSinceEmpty = undefined;
      }
    } else if (this.full && this.soc < COMMON_LIMITS.fullResumeSoc) this.full = false;
    if (!this.empty && (minOcv <= p.dischargeStopV + STOP_MARGIN_V || this.soc <= COMMON_LIMITS.emptySoc)) {
      this.empty = true;
      if (minOcv <= p.dischargeStopV + STOP_MARGIN_V) {
        this.soc = Math.min(this.soc, COMMON_LIMITS.emptySoc);
        this.countedSinceEmpty = 0;
      }
    } else if (this.empty && this.soc > COMMON_LIMITS.emptyResumeSoc) this.empty = false;
  }
}
