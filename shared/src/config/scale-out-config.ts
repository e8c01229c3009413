import { z } from "zod";

/**
 * The settings of the scale-out engines (docs/scale-out.md): RabbitMQ for partitioned ingestion
 * (AMQP_URL), PostgreSQL for the shared stores (DATABASE_URL), Redis for the live nodes (REDIS_URL).
 * Absent, every service runs on its embedded defaults.
 */

/** env DATABASE_URL: `postgres://user:password@host:5432/database`. */
export const DatabaseUrl = z.string().regex(/^postgres(ql)?:\/\/[^\s/]+\/[^\s/]+$/, "a URL like postgres://user:password@host:5432/database");

/** env REDIS_URL: `redis://[:password@]host:6379[/db]` or `rediss://` (TLS). */
export const RedisUrl = z.string().regex(/^rediss?:\/\/[^\s/]+(\/\d{1,2})?$/, "a URL like redis://host:6379");

/** Partitioned intake from RabbitMQ instead of one MQTT subscription (env AMQP_URL sets `url`). */
export const AmqpIntakeConfig = z
  .object({
    /** env AMQP_URL: `amqp://user:password@host:5672[/vhost]` or `amqps://`. */
    url: z.string().regex(/^amqps?:\/\/[^\s/]+(\/[^\s/]*)?$/, "a URL like amqp://user:password@host:5672"),
    /**
     * Partitions (quorum queues behind the consistent-hash exchange): more than workers, so that
     * load spreads and comes back when a worker returns. Every worker of a deployment must use the
     * same number; it is fixed once agents publish (docs/scale-out.md). @default 64
     */
    partitions: z.number().int().min(1).max(1024).default(64),
    /** Unacknowledged messages one partition may hand this worker at a time. @default 200 */
    prefetch: z.number().int().min(1).max(10_000).default(200),
    /** This worker's name among the workers (logs, partition placement). @default hostname and process id */
    workerId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    /** How often a worker says it is alive to the others, ms; a worker not heard for 3 of these is gone. @default 1000 */
    presenceIntervalMs: z.number().int().min(100).max(60_000).default(1000),
    /** AMQP heartbeat, s: how soon RabbitMQ notices a worker whose machine vanished (a killed process is noticed at once). @default 5 */
    heartbeatS: z.number().int().min(1).max(600).default(5),
    /** Delay before reconnecting after RabbitMQ went away, ms (doubles up to 30 s). @default 1000 */
    reconnectPeriodMs: z.number().int().min(100).max(60_000).default(1000),
  })
  .strict();
export type AmqpIntakeConfig = z.infer<typeof AmqpIntakeConfig>;
