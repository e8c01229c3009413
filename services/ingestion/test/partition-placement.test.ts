import { describe, expect, it } from "vitest";
import { partitionQueue, topicOfRoutingKey } from "../src/partitions/amqp-topology";
import { homeOf } from "../src/partitions/rendezvous";

const PARTITIONS = Array.from({ length: 64 }, (_, p) => p);

describe("partition placement (rendezvous hashing)", () => {
  it("gives every worker a fair share, whatever order the members are listed in", () => {
    const members = ["worker-a", "worker-b", "worker-c"];
    const shares = new Map<string, number>();
    for (const p of PARTITIONS) {
      const home = homeOf(p, members);
      expect(homeOf(p, [...members].reverse())).toBe(home);
      shares.set(home ?? "", (shares.get(home ?? "") ?? 0) + 1);
    }
    expect([...shares.keys()].sort()).toEqual(members);
    for (const n of shares.values()) expect(n).toBeGreaterThan(10);
  });

  it("moves only the leaving worker's partitions, and gives them back when it returns", () => {
    const before = PARTITIONS.map((p) => homeOf(p, ["a", "b", "c"]));
    const without = PARTITIONS.map((p) => homeOf(p, ["a", "b"]));
    PARTITIONS.forEach((p) => {
      if (before[p] !== "c") expect(without[p]).toBe(before[p]);
      else expect(["a", "b"]).toContain(without[p]);
    });
    expect(PARTITIONS.map((p) => homeOf(p, ["c", "a", "b"]))).toEqual(before);
    expect(homeOf(0, [])).toBeNull();
  });

  it("names queues and turns the MQTT plugin's routing keys back into topics", () => {
    expect(partitionQueue(7)).toBe("bms.telemetry.007");
    expect(topicOfRoutingKey("bms.site-1.pack-2.telemetry")).toBe("bms/site-1/pack-2/telemetry");
    // The plugin swaps `/` and `.`: a dot in a topic level comes back as a dot (and the topic parser refuses the ID).
    expect(topicOfRoutingKey("bms.site/x.p.telemetry")).toBe("bms/site.x/p/telemetry");
  });
});
