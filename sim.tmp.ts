import { PackModel } from "./simulators/src/pack-model";
for (const ageing of [undefined, {}, { acceleration: 5 }]) {
const m = new PackModel({ seed: 3, capacityAh: 20, ...(ageing ? { ageing } : {}), load: { kind: "trace", after: "repeat", points: [[0, 10], [9000, 10], [9001, 0], [12600, 0], [12601, -10], [21600, -10], [21601, 0], [25200, 0]] } });
const t0 = performance.now();
m.step(24*3600);
const dt = performance.now() - t0;
let s = m.snapshot();
console.log("1 day:", dt.toFixed(0), "ms", "soh", s.trueSoh.toFixed(3), s.throughput, "R", s.resistance25MilliOhm?.toFixed(2));
m.fastForward({ days: 25, equivalentCycles: 100 });
s = m.snapshot();
console.log(" after ff: soh", s.trueSoh.toFixed(3), s.cycles, s.ageing?.cellCapacityFactors.map(x=>x.toFixed(4)).join(","), "R", s.resistance25MilliOhm?.toFixed(2));
}
