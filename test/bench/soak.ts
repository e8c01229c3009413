import { median } from "@bms/shared";
import { PARTS, type Part, rssMiB, type SoakFleet, startSoakFleet } from "./soak-fleet";

/**
 * `npm run soak`: memory per pack. Two independent systems side by side (test/bench/soak-fleet.ts:
 * every part its own process, from the bundles of `npm run build`), SOAK_PACKS (default "20,200")
 * healthy packs at 1 Hz, for SOAK_MINUTES (default 15). Every SOAK_SAMPLE_SECONDS (default 30) it
 * prints each process's RSS; at the end, per part: the steady RSS of each fleet (median of the last
 * third), the RSS per pack beyond a fixed base (difference of the two fleets / difference of their
 * pack counts) and the slope over the last two thirds (MiB/min: flat is about 0).
 */
const MINUTES = Number(process.env.SOAK_MINUTES ?? 15);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);
const FLEETS = (process.env.SOAK_PACKS ?? "20,200").split(",").map(Number);

interface Reading {
  minute: number;
  rss: Record<Part, number>;
  /** Samples a second the engineer's client received since the reading before (the fleet's real rate). */
  samplesPerS: number;
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

const f = (n: number, digits = 0) => n.toFixed(digits).padStart(digits + 4);

async function main(): Promise<void> {
  const [small, large] = FLEETS;
  if (FLEETS.length !== 2 || small === undefined || large === undefined || !(small > 0 && large > small && large <= 247))
    throw new Error(`SOAK_PACKS: two pack counts, the first smaller, at most 247 (one unit ID a pack), not "${FLEETS.join(",")}"`);
  const fleets: SoakFleet[] = [];
  try {
    // One after the other: two start-ups at once would make each slower, not the soak more honest.
    for (const packs of FLEETS) fleets.push(await startSoakFleet(packs));
    const readings = fleets.map((): Reading[] => []);
    const received = fleets.map((fleet) => fleet.samplesReceived());
    const startedAt = Date.now();
    process.stdout.write(`soak: ${FLEETS.join(" and ")} healthy packs at 1 Hz for ${MINUTES} min; RSS in MiB every ${SAMPLE_S} s\n`);
    process.stdout.write(`${"min".padStart(5)}  ${fleets.map((fleet) => `${fleet.packs} packs: ${PARTS.join(" ")}, samples/s on socket.io`).join(" | ")}\n`);
    for (let minute = 0; minute < MINUTES; ) {
      await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
      minute = (Date.now() - startedAt) / 60_000;
      const cells = fleets.map((fleet, i) => {
        const dead = fleet.exited();
        if (dead) throw new Error(dead);
        const rss = Object.fromEntries(PARTS.map((part) => [part, rssMiB(fleet.pids[part])])) as Record<Part, number>;
        const rate = (fleet.samplesReceived() - (received[i] ?? 0)) / SAMPLE_S;
        received[i] = fleet.samplesReceived();
        readings[i]?.push({ minute, rss, samplesPerS: rate });
        return `${PARTS.map((part) => f(rss[part])).join(" ")} ${f(rate, 1)}`;
      });
      process.stdout.write(`${f(minute, 1)}  ${cells.join(" | ")}\n`);
    }
    const lastThird = (rs: Reading[]) => rs.slice(Math.floor((rs.length * 2) / 3));
    const rates = readings.map((rs) => (median(lastThird(rs).map((r) => r.samplesPerS)) ?? 0).toFixed(0));
    process.stdout.write(`\nsamples/s on socket.io over the last third (median): ${FLEETS.map((packs, i) => `${rates[i]} of ${packs}`).join(", ")}\n`);
    process.stdout.write(`per part: steady RSS (median of the last third), MiB/pack beyond a base, slope over the last two thirds\n`);
    process.stdout.write(
      `| part | RSS at ${small} packs, MiB | RSS at ${large} packs, MiB | base, MiB | MiB/pack | slope at ${small} / ${large} packs, MiB/min |\n`,
    );
    process.stdout.write("| --- | --- | --- | --- | --- | --- |\n");
    for (const part of PARTS) {
      const steady = readings.map((rs) => median(lastThird(rs).map((r) => r.rss[part])) ?? Number.NaN);
      const slopes = readings.map((rs) => slope(rs.slice(Math.floor(rs.length / 3)).map((r) => [r.minute, r.rss[part]] as const)));
      const [a = Number.NaN, b = Number.NaN] = steady;
      const perPack = (b - a) / (large - small);
      const row = [part, a.toFixed(0), b.toFixed(0), (a - perPack * small).toFixed(0), perPack.toFixed(3), slopes.map((s) => s.toFixed(2)).join(" / ")];
      process.stdout.write(`| ${row.join(" | ")} |\n`);
    }
  } finally {
    for (const fleet of fleets) await fleet.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
