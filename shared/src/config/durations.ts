import { z } from "zod";

/** A duration in a rule file or health setting, s: up to 90 days. */
export const Seconds = z
  .number()
  .min(0)
  .max(90 * 86_400);
export const PositiveSeconds = z
  .number()
  .positive()
  .max(90 * 86_400);
