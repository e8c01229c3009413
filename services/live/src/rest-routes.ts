import { type CaseEvent, CaseStatus, formatIssues, Id, type Logger, RuleId } from "@bms/shared";
import { type CaseStore, CaseTransitionError } from "@bms/storage";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { bearerToken } from "./engineer-auth";
import type { LiveMetrics } from "./live-metrics";
import type { PackState } from "./pack-state";

/** `GET /api/cases` query. Unknown keys are refused so that a typo is not silently ignored. */
export const CaseListQuery = z
  .object({
    status: z.enum([...CaseStatus.options, "active"]).optional(),
    siteId: Id.optional(),
    packId: Id.optional(),
    ruleId: RuleId.optional(),
    /** @default 100 */
    limit: z
      .string()
      .regex(/^\d{1,4}$/, "a whole number from 1 to 1000")
      .transform(Number)
      .pipe(z.number().int().min(1).max(1000))
      .default(100),
  })
  .strict();

/** Engineers may acknowledge or close; opening is the rules' job. */
export const CaseStatusChange = z.object({ status: z.enum(["acknowledged", "closed"]) }).strict();

const CaseIdParams = z.object({ id: Id }).strict();
const PackParams = z.object({ siteId: Id, packId: Id }).strict();

export interface RestDeps {
  caseStore: CaseStore;
  state: PackState;
  checkToken: (token: string | undefined) => boolean;
  metrics: LiveMetrics;
  log: Logger;
  /** Tells local subscribers and every other live instance (via MQTT) about a changed case. */
  announceCaseEvent(event: CaseEvent): void;
}

function badRequest(reply: FastifyReply, error: z.ZodError): FastifyReply {
  return reply.code(400).send({ error: formatIssues(error.issues).join("\n") });
}

/** The bearer-token REST API, registered under `/api`. */
export async function restRoutes(app: FastifyInstance, deps: RestDeps): Promise<void> {
  const { caseStore, state } = deps;

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (deps.checkToken(bearerToken(request.headers.authorization))) return;
    deps.metrics.httpUnauthorized.inc();
    // Same answer for a missing and a wrong token; the header tells clients how to authenticate.
    return reply.code(401).header("www-authenticate", 'Bearer realm="bms-live"').send({ error: "unauthorized: send Authorization: Bearer <engineer token>" });
  });

  app.get("/cases", async (request, reply) => {
    const query = CaseListQuery.safeParse(request.query, { reportInput: true });
    if (!query.success) return badRequest(reply, query.error);
    return caseStore.list(query.data);
  });

  app.get("/cases/:id", async (request, reply) => {
    const params = CaseIdParams.safeParse(request.params, { reportInput: true });
    if (!params.success) return badRequest(reply, params.error);
    const found = await caseStore.get(params.data.id);
    if (!found) return reply.code(404).send({ error: `no case with id ${params.data.id}` });
    return found;
  });

  app.post("/cases/:id/status", async (request, reply) => {
    const params = CaseIdParams.safeParse(request.params, { reportInput: true });
    if (!params.success) return badRequest(reply, params.error);
    const body = CaseStatusChange.safeParse(request.body, { reportInput: true });
    if (!body.success) return badRequest(reply, body.error);
    let changed: Awaited<ReturnType<CaseStore["setStatus"]>>;
    try {
      changed = await caseStore.setStatus(params.data.id, body.data.status, Date.now());
    } catch (err) {
      if (err instanceof CaseTransitionError) return reply.code(409).send({ error: err.message });
      throw err;
    }
    if (!changed) return reply.code(404).send({ error: `no case with id ${params.data.id}` });
    deps.announceCaseEvent({ type: changed.status === "closed" ? "closed" : "updated", case: changed });
    deps.log.info({ caseId: changed.id, siteId: changed.siteId, packId: changed.packId, status: changed.status }, "case status changed by an engineer");
    return changed;
  });

  app.get("/packs", async () => state.views());

  app.get("/packs/:siteId/:packId/history", async (request, reply) => {
    const params = PackParams.safeParse(request.params, { reportInput: true });
    if (!params.success) return badRequest(reply, params.error);
    const history = state.history(params.data.siteId, params.data.packId);
    if (!history) return reply.code(404).send({ error: `no pack ${params.data.siteId}/${params.data.packId}` });
    return history;
  });
}
