import { FleetState } from "@bms/shared";
import { z } from "zod";
import { canSee } from "./engineer-auth";
import { triage } from "./fleet-triage";
import type { RestDeps, ZodApp } from "./rest-types";

const wholeNumber = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, `a whole number from 0 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(0).max(max))
    .default(fallback);

/** `GET /api/fleet` query. Unknown keys are refused so that a typo is not silently ignored. */
export const FleetQuerySchema = z
  .object({
    /** Text in the site ID, pack ID, serial or model (case-insensitive). */
    q: z.string().max(100).optional(),
    state: FleetState.optional(),
    /** @default 0 */
    offset: wholeNumber(1_000_000, 0),
    /** Packs in the page, 1-500. @default 100 */
    limit: wholeNumber(500, 100).pipe(z.number().min(1, "a whole number from 1 to 500")),
    /** Sites listed, 0-1000. @default 50 */
    siteLimit: wholeNumber(1000, 50),
  })
  .strict();

/** Fleet triage: sites and packs the token sees, most urgent first, counted, searchable and paged. */
export async function fleetRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  app.get("/fleet", { config: { role: "viewer" }, schema: { querystring: FleetQuerySchema } }, async (request) => {
    const visible = (siteId: string) => canSee(request.engineer, siteId);
    const cases = (await deps.caseIndex.current()).filter((c) => visible(c.siteId));
    return triage({ packs: deps.state.entries(visible), statuses: deps.state.siteStatuses(visible), cases, now: Date.now() }, request.query);
  });
}
