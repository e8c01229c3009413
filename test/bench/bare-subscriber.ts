import mqtt from "mqtt";
import { withoutDelay } from "./burst";

/**
 * The ingestion bench's baseline as a process of its own, as the ingestion is one: a bare MQTT
 * subscriber (QoS 1, `bms/#`) that only counts. Prints "ready" once subscribed and "received N"
 * when N messages came, then exits.
 * Usage: bare-subscriber.ts <broker url> <count> <clientId> <persistent: 0|1>
 */
const [url, countArg, clientId, persistentArg] = process.argv.slice(2);
if (url === undefined || countArg === undefined || clientId === undefined) {
  process.stderr.write("usage: bare-subscriber.ts <broker url> <count> <clientId> <persistent: 0|1>\n");
  process.exit(2);
}
const count = Number(countArg);
const persistent = persistentArg === "1";
const client = withoutDelay(await mqtt.connectAsync(url, { clientId, clean: !persistent }));
await client.subscribeAsync("bms/#", { qos: 1 });
let received = 0;
client.on("message", () => {
  if (++received === count) {
    process.stdout.write(`received ${received}\n`);
    void client.endAsync().then(() => process.exit(0));
  }
});
process.stdout.write("ready\n");
