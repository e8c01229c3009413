/**
 * A cell's internal resistance now: its 25 °C value, rising when cold (×2 at ~2 °C, ×4 at −20 °C,
 * Arrhenius-like) and at low SOC (×2.5 at empty, from 15 % down).
 */
export function cellResistance(r25Ohm: number, temperatureC: number, socPercent: number): number {
  const cold = Math.exp(0.03 * (25 - Math.min(60, temperatureC)));
  const low = socPercent < 15 ? 1 + 1.5 * ((15 - Math.max(0, socPercent)) / 15) ** 2 : 1;
  return r25Ohm * cold * low;
}

/** Self-discharge rate, % per second, doubling every 10 °C above 25 °C. */
export function selfDischargePctPerSecond(pctPerMonth: number, temperatureC: number): number {
  return (pctPerMonth / (30 * 86_400)) * 2 ** ((Math.min(80, temperatureC) - 25) / 10);
}
