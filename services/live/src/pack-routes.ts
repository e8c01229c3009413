import { Id } from "@bms/shared";
import { z } from "zod";
import { canSee } from "./engineer-auth";
import type { RestDeps, ZodApp } from "./rest-types";

const HOUR_MS = 3_600_000;

/** ms since the epoch, as a query string. */
const EpochQuery = z
  .string()
  .regex(/^\d{1,15}$/, "ms since the Unix epoch, a whole number")
  .transform(Number);

const PackParams = z.object({ siteId: Id, packId: Id }).strict();

/** `?from=&to=`: default the hour before `to`, and `to` now. */
const HistoryQuery = z
  .object({ from: EpochQuery.optional(), to: EpochQuery.optional() })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be after to", path: ["from"] });

const READ_PACK = { config: { role: "viewer", scope: "site" } } as const;

/** Who the token is, what the console needs to know (limits, case actions), and the live packs the token may see. */
export async function packRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  const { state, caseStore } = deps;

  app.get("/me", { config: { role: "viewer" } }, async (request) => {
    const { name, role, sites, customer } = request.engineer;
    return { name, role, sites: sites === null ? null : [...sites].sort(), customer };
  });

  app.get("/meta", { config: { role: "viewer" } }, async () => deps.meta);

  app.get("/packs", { config: { role: "viewer" } }, async (request) => state.views((siteId) => canSee(request.engineer, siteId)));

  app.get("/packs/:siteId/:packId/history", { ...READ_PACK, schema: { params: PackParams, querystring: HistoryQuery } }, async (request, reply) => {
    const { siteId, packId } = request.params;
    const to = request.query.to ?? Date.now();
    const from = request.query.from ?? to - HOUR_MS;
    const points = state.history(siteId, packId, from, to);
    if (!points) return reply.code(404).send({ error: `no pack ${siteId}/${packId}` });
    return { siteId, packId, points };
  });

  app.get("/packs/:siteId/:packId/cases", { ...READ_PACK, schema: { params: PackParams } }, async (request) =>
    caseStore.rollup(request.params.siteId, request.params.packId),
  );
}
