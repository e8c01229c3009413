import { LIVE_NAMESPACE, type SitePackSample } from "@bms/shared";
import { io } from "socket.io-client";

/**
 * An engineer's socket.io client in a process of its own (so that the bench's publishers and
 * broker do not delay its event loop): subscribes to a site, waits `warmupS`, records each sample's
 * age on arrival (now − its `ts`, one clock) for `seconds`, prints the ages as JSON and exits.
 * Usage: live-latency-probe.ts URL TOKEN SITE WARMUP_S SECONDS
 */
const [url, token, siteId, warmupS, seconds] = process.argv.slice(2);
const socket = io(`${url}${LIVE_NAMESPACE}`, { auth: { token }, transports: ["websocket"] });
const ages: number[] = [];
let measuring = false;
socket.on("sample", (s: SitePackSample) => {
  if (measuring) ages.push(Date.now() - s.ts);
});
await socket.timeout(10_000).emitWithAck("subscribe", { siteId });
process.stdout.write("subscribed\n");
await new Promise((r) => setTimeout(r, Number(warmupS) * 1000));
measuring = true;
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
measuring = false;
socket.close();
process.stdout.write(`${JSON.stringify(ages)}\n`);
process.exit(0);
