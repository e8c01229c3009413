import mqtt from "mqtt";
import { withoutDelay } from "./burst";

/**
 * The ingestion bench's baseline as a process of its own, as the ingestion is one: a bare MQTT
 * subscriber (QoS 1, `bms/#`) that only counts. Prints "ready" once subscribed, "warm" after the
 * first `warmup` messages, and "received N" when N messages more came, then exits.
 * Usage: bare-subscriber.ts <broker url> <count> <clientId> <persistent: 0|1> [warmup]
 */
const [url, countArg, clientId, persistentArg, warmupArg] = process.argv.slice(2);
if (url === undefined || countArg === undefined || clientId === undefined) {
  process.stderr.write("usage: bare-subscriber.ts <broker url> <count> <clientId> <persistent: 0|1> [warmup]\n");
  process.exit(2);
}
const warmup = Number(warmupArg ?? 0);
const count = warmup + Number(countArg);
const persistent = persistentArg === "1";
const client = withoutDelay(await mqtt.connectAsync(url, { clientId, clean: !persistent }));
await client.subscribeAsync("bms/#", { qos: 1 });
let received = 0;
client.on("message", () => {
  if (++received === warmup) process.stdout.write("warm\n");
  if (received === count) {
    process.stdout.write(`received ${received}\n`);
    void client.endAsync().then(() => process.exit(0));
  }
});
process.stdout.write("ready\n");
if (warmup === 0) process.stdout.write("warm\n");
