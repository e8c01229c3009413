import { createHmac, timingSafeEqual } from "node:crypto";

/** The header that carries the signature. */
export const SIGNATURE_HEADER = "x-bms-signature";

/**
 * `t=<ms>,v1=<hex>`: HMAC-SHA256 with the endpoint's secret over `<ms>.<body>`, so a receiver can
 * check both who sent it and that it is fresh (replays carry an old `t`).
 */
export function signWebhook(secret: string, body: string, timestampMs: number): string {
  const mac = createHmac("sha256", secret).update(`${timestampMs}.${body}`, "utf8").digest("hex");
  return `t=${timestampMs},v1=${mac}`;
}

/** What a receiver does: true when the signature matches and `t` is within `toleranceMs` of `now`. */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, now = Date.now(), toleranceMs = 300_000): boolean {
  if (typeof header !== "string") return false;
  const found = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!found) return false;
  const t = Number(found[1]);
  if (Math.abs(now - t) > toleranceMs) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).slice(-64), "hex");
  return timingSafeEqual(expected, Buffer.from(found[2] as string, "hex"));
}
