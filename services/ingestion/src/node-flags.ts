/**
 * The Node.js flags the ingestion is shipped with (package.json `scripts.ingestion`, the compose
 * files; a test keeps them in step; the benches start it with them). A sample allocates about
 * 30 KB on its way through (the parsed JSON, its line protocol, the rules' observation), and a
 * batch keeps its samples alive until it is committed: with V8's default young generation (16 MiB
 * semi-spaces) a burst was collected every few dozen milliseconds, each time copying the batch in
 * hand. Twice the room halves those collections: about 12 % less CPU per sample in the ingestion
 * bench (docs/architecture.md, "Throughput and latency"), for at most 32 MiB more memory. V8 grows
 * the young generation as bytes survive its scavenges, so any steady load reaches that ceiling in
 * time: half of it in ten minutes at 20 samples/s, all of it in seven at 40 (docs/architecture.md,
 * "Memory per pack").
 */
export const INGESTION_NODE_FLAGS = ["--max-semi-space-size=32"] as const;
