import { z } from "zod";

/** Site, pack and agent IDs: they become MQTT topic levels, tags and URL segments, so no wildcards or slashes. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const Id = z.string().regex(ID_PATTERN, "an ID of 1-64 letters, digits, '_' or '-'");
export type Id = z.infer<typeof Id>;

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}
