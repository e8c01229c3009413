import { z } from "zod";
import { DEFAULT_PORTS } from "../defaults";
import { Id } from "../ids";

/**
 * A broker account. `agent`: may publish only under `bms/{siteId}/#` and subscribe to nothing.
 * `service` (ingestion, live): may subscribe to everything and publish under `cases/#`.
 */
export const BrokerUser = z
  .object({
    username: z.string().min(1).max(128),
    password: z.string().min(8, "at least 8 characters").max(256),
    role: z.enum(["agent", "service"]),
    /** Required for role `agent`. */
    siteId: Id.optional(),
  })
  .strict()
  .superRefine((u, ctx) => {
    // `input` given explicitly: the default would be the whole account, password included, in the error line.
    if (u.role === "agent" && u.siteId === undefined)
      ctx.addIssue({ code: "custom", path: ["siteId"], message: "an agent account needs its siteId", input: u.siteId });
  });
export type BrokerUser = z.infer<typeof BrokerUser>;

export const BrokerConfig = z
  .object({
    /** @default "0.0.0.0" */
    host: z.string().default("0.0.0.0"),
    /** MQTT port (env MQTT_PORT); 0 picks a free one. @default 1883 */
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.mqtt),
    /** Accept clients without credentials (they may then publish anywhere under bms/). @default false */
    allowAnonymous: z.boolean().default(false),
    /** @default [] */
    users: z.array(BrokerUser).default([]),
    /** ms a frozen subscriber may hold up delivery before aedes drops it. @default 5000 */
    drainTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Two accounts with one name: which password and role would win is a guess, so refuse.
    const seen = new Set<string>();
    for (const [i, user] of config.users.entries()) {
      if (seen.has(user.username)) ctx.addIssue({ code: "custom", path: ["users", i, "username"], message: "duplicate username", input: user.username });
      seen.add(user.username);
    }
  });
export type BrokerConfig = z.infer<typeof BrokerConfig>;
