import { BROKER_TIME_TOPIC, type BrokerTime } from "@bms/shared";
import type { Aedes } from "aedes";

/**
 * Publishes the broker's wall clock, retained, on `$SYS/broker/time` now and every `intervalMs`,
 * so that an agent learns the time from the broker it talks to (its clock check). The retained copy
 * answers a new subscription at once and is at most `intervalMs` old; live copies follow.
 * Returns a function that stops it.
 */
export function publishBrokerTime(aedes: Aedes, intervalMs: number, now: () => number = Date.now): () => void {
  const publish = () => {
    const time: BrokerTime = { ts: now() };
    aedes.publish({ cmd: "publish", topic: BROKER_TIME_TOPIC, payload: Buffer.from(JSON.stringify(time)), qos: 0, retain: true, dup: false }, () => {});
  };
  publish();
  const timer = setInterval(publish, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
