import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { declarePartitions, partitionQueue } from "@bms/ingestion";
import { type Channel, type ConsumeMessage, connect } from "amqplib";
import mqtt from "mqtt";
import { Client } from "pg";
import { type RunningScript, runScript } from "../support/cli";
import { waitFor } from "../support/free-port";
import { type PostgresServer, startPostgres } from "../support/postgres";
import { startRabbitMq } from "../support/rabbitmq";
import { makeTempDir, type TempDir } from "../support/temp-dir";
import { type BurstMessage, makeBurst } from "./burst";

/**
 * Partitioned ingestion on RabbitMQ (`npm run bench`, docs/scale-out.md), one run on this machine:
 *  1. bare consumer (the baseline): one amqplib consumer per partition queue, acknowledging every
 *     100 messages, drains a burst that agents published over the MQTT listener beforehand;
 *  2. the same burst taken by 1, then 2 ingestion workers (processes; PostgreSQL stores, rules run,
 *     states committed, acknowledged): from their start until the rules took every sample;
 *  3. failover: two workers on a steady stream, one SIGKILLed: time until every partition it
 *     consumed is consumed again by the other.
 * BENCH_AMQP_SAMPLES (default 20000) sets the burst; 500 packs, 32 partitions.
 */
const BURST = Number(process.env.BENCH_AMQP_SAMPLES ?? 20_000);
const PARTITIONS = 32;

export interface ScaleOutFigures {
  bareConsumerMsgPerS: number;
  oneWorkerMsgPerS: number;
  twoWorkersMsgPerS: number;
  failoverMs: number;
  orphanedPartitions: number;
}

function burstFor(run: string): BurstMessage[] {
  return makeBurst(BURST, 1, 50, 10).map((m) => ({ ...m, topic: m.topic.replace("bench-site-", `${run}-site-`) }));
}

async function publishOverMqtt(url: string, messages: readonly BurstMessage[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-agents-${process.pid}`, clean: true });
  for (let k = 0; k < messages.length; k += 200) await Promise.all(messages.slice(k, k + 200).map((m) => client.publishAsync(m.topic, m.payload, { qos: 1 })));
  await client.endAsync();
}

async function queued(channel: Channel): Promise<number> {
  let n = 0;
  for (let p = 0; p < PARTITIONS; p++) n += (await channel.checkQueue(partitionQueue(p))).messageCount;
  return n;
}

async function takenByRules(databaseUrl: string): Promise<number> {
  const client = new Client(databaseUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string | null }>(
      "SELECT sum((state::json->'lanes'->>'liveCount')::int) AS n FROM pack_state WHERE pack_id <> '_site'",
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

function startWorker(dir: TempDir, name: string, env: Record<string, string>): RunningScript {
  const config = join(dir.path, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({ amqp: { partitions: PARTITIONS, workerId: name, presenceIntervalMs: 500 }, intake: { maxBatch: 1000, maxPending: 10_000 } }),
  );
  return runScript("services/ingestion/src/main.ts", ["--config", config], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", DATA_DIR: join(dir.path, name), ...env },
  });
}

/** `consuming a partition` / `no longer consuming a partition` lines of a worker's log. */
function partitionEvents(proc: RunningScript): { time: number; partition: number; taken: boolean }[] {
  return proc
    .output()
    .split("\n")
    .filter((l) => l.includes('"msg":"consuming a partition"') || l.includes('"msg":"no longer consuming a partition"'))
    .map((l) => {
      const j = JSON.parse(l) as { time: number; partition: number; msg: string };
      return { time: j.time, partition: j.partition, taken: j.msg === "consuming a partition" };
    });
}

function activeAt(proc: RunningScript): Set<number> {
  const active = new Set<number>();
  for (const e of partitionEvents(proc)) e.taken ? active.add(e.partition) : active.delete(e.partition);
  return active;
}

async function workersRun(pg: PostgresServer, amqpUrl: string, mqttUrl: string, dir: TempDir, workers: number, run: string): Promise<number> {
  const databaseUrl = await pg.createDatabase();
  await publishOverMqtt(mqttUrl, burstFor(run));
  const env = { AMQP_URL: amqpUrl, MQTT_URL: mqttUrl, DATABASE_URL: databaseUrl };
  const procs = Array.from({ length: workers }, (_, i) => startWorker(dir, `${run}-w${i}`, env));
  try {
    // Polled twice a second: the sum reads every pack's state, work the database would otherwise do for the workers.
    const deadline = Date.now() + 600_000;
    // (0 until the first worker created the tables.)
    while ((await takenByRules(databaseUrl).catch(() => 0)) < BURST) {
      if (Date.now() > deadline) throw new Error(`${workers} worker(s) did not take the burst in time`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const done = Date.now();
    // From the first partition consumed (the processes' start-up, mostly compiling TypeScript, left out).
    const first = Math.min(...procs.flatMap((p) => partitionEvents(p).map((e) => e.time)));
    return BURST / ((done - first) / 1000);
  } finally {
    for (const p of procs) p.child.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
  }
}

export async function benchScaleOut(): Promise<ScaleOutFigures> {
  const dir = makeTempDir("bms-bench-scale-");
  const [rabbit, pg] = await Promise.all([startRabbitMq(), startPostgres()]);
  const connection = await connect(rabbit.amqpUrl);
  try {
    const setup = await connection.createChannel();
    await declarePartitions(setup, PARTITIONS);

    // 1. The bare consumer.
    await publishOverMqtt(rabbit.mqttUrl, burstFor("bare"));
    await waitFor(async () => (await queued(setup)) >= BURST, 60_000, "the burst in the queues");
    let received = 0;
    const consumers: { channel: Channel; last: ConsumeMessage | null }[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const channel = await connection.createChannel();
      await channel.prefetch(200);
      consumers.push({ channel, last: null });
    }
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      consumers.forEach((c, p) => {
        let unacked = 0;
        void c.channel.consume(partitionQueue(p), (msg) => {
          if (!msg) return;
          c.last = msg;
          if (++unacked >= 100) {
            c.channel.ack(msg, true);
            unacked = 0;
          }
          if (++received === BURST) resolve();
        });
      });
    });
    const bareConsumerMsgPerS = BURST / ((performance.now() - t0) / 1000);
    // Everything acknowledged: nothing of this burst goes back to the queues for the workers.
    for (const c of consumers) if (c.last) c.channel.ack(c.last, true);
    await connection.close();

    // 2. One worker, then two, on the same burst (each run its own packs and database).
    const oneWorkerMsgPerS = await workersRun(pg, rabbit.amqpUrl, rabbit.mqttUrl, dir, 1, "one");
    const twoWorkersMsgPerS = await workersRun(pg, rabbit.amqpUrl, rabbit.mqttUrl, dir, 2, "two");

    // 3. Failover: two workers on a steady stream; A is killed.
    const databaseUrl = await pg.createDatabase();
    const env = { AMQP_URL: rabbit.amqpUrl, MQTT_URL: rabbit.mqttUrl, DATABASE_URL: databaseUrl };
    const a = startWorker(dir, "fail-a", env);
    const b = startWorker(dir, "fail-b", env);
    const agents = await mqtt.connectAsync(rabbit.mqttUrl, { clientId: "bench-stream", clean: true });
    let streaming = true;
    const stream = (async () => {
      let seq = 0;
      while (streaming) {
        const burst = makeBurst(500, ++seq * 1000, 50, 10).map((m) => ({ ...m, topic: m.topic.replace("bench-site-", "fail-site-") }));
        await Promise.all(burst.map((m) => agents.publishAsync(m.topic, m.payload, { qos: 1 })));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      // Both consume (placement has spread the partitions) before the kill.
      await waitFor(
        () => activeAt(a).size > 0 && activeAt(b).size > 0 && activeAt(a).size + activeAt(b).size === PARTITIONS,
        120_000,
        "both workers to consume",
      );
      const orphaned = activeAt(a);
      const killedAt = Date.now();
      a.child.kill("SIGKILL");
      await a.exited;
      await waitFor(
        () => [...orphaned].every((p) => partitionEvents(b).some((e) => e.taken && e.partition === p && e.time >= killedAt)),
        60_000,
        "worker B to consume the orphaned partitions",
      );
      const takenAt = Math.max(
        ...[...orphaned].map((p) =>
          Math.min(
            ...partitionEvents(b)
              .filter((e) => e.taken && e.partition === p && e.time >= killedAt)
              .map((e) => e.time),
          ),
        ),
      );
      return { bareConsumerMsgPerS, oneWorkerMsgPerS, twoWorkersMsgPerS, failoverMs: takenAt - killedAt, orphanedPartitions: orphaned.size };
    } finally {
      streaming = false;
      await stream;
      await agents.endAsync();
      b.child.kill("SIGTERM");
      await b.exited;
    }
  } finally {
    await connection.close().catch(() => undefined);
    await Promise.all([rabbit.stop(), pg.stop()]);
    dir.remove();
  }
}

export function formatScaleOutBench(f: ScaleOutFigures): string {
  const n = (x: number) => x.toFixed(0);
  return [
    `scale-out: burst of ${BURST} samples over RabbitMQ's MQTT listener, ${PARTITIONS} partitions, 500 packs, PostgreSQL stores (fsync off), one run`,
    `  bare RabbitMQ consumer (baseline)    ${n(f.bareConsumerMsgPerS)} msg/s`,
    `  1 ingestion worker                   ${n(f.oneWorkerMsgPerS)} msg/s  (${(f.oneWorkerMsgPerS / f.bareConsumerMsgPerS).toFixed(2)} of bare; validated, spooled, rules committed to PostgreSQL, acknowledged)`,
    `  2 ingestion workers                  ${n(f.twoWorkersMsgPerS)} msg/s  (${(f.twoWorkersMsgPerS / f.oneWorkerMsgPerS).toFixed(2)} × one worker, on the same 2 cores)`,
    `  failover (SIGKILL → orphaned partitions consumed again)  ${n(f.failoverMs)} ms for ${f.orphanedPartitions} partitions`,
    `json-scale-out: ${JSON.stringify(f)}`,
    "",
  ].join("\n");
}
