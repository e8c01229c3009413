import { COMMAND_KIND_RULES, CommandId, CommandRequest, Id } from "@bms/shared";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { canSee, hasRole } from "../engineer-auth";
import type { RestDeps, ZodApp } from "../rest-types";
import { CommandRequestError } from "./command-service";

const PackParams = z.object({ siteId: Id, packId: Id }).strict();
const CommandParams = z.object({ id: CommandId }).strict();
const LogQuery = z
  .object({
    limit: z
      .string()
      .regex(/^\d{1,3}$/, "a whole number from 1 to 500")
      .transform(Number)
      .pipe(z.number().int().min(1).max(500))
      .default(50),
  })
  .strict();

/** Diagnostic kinds need an engineer; a kind that changes settings needs an admin (COMMAND_KIND_RULES). */
async function kindRole(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const kind = (request.body as { kind: keyof typeof COMMAND_KIND_RULES }).kind;
  const needed = COMMAND_KIND_RULES[kind].role;
  if (!hasRole(request.engineer, needed)) {
    await reply.code(403).send({ error: `forbidden: ${kind} needs an ${needed} token, and ${request.engineer.name}'s token is ${request.engineer.role}` });
  }
}

/** Remote diagnosis over REST: send a command, follow it, a pack's command log and its writable points. Viewers see none of it. */
export async function commandRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  const { commands, commandStore } = deps;

  app.post(
    "/packs/:siteId/:packId/commands",
    { config: { role: "engineer", scope: "site" }, schema: { params: PackParams, body: CommandRequest }, preHandler: kindRole },
    async (request, reply) => {
      const { siteId, packId } = request.params;
      try {
        const record = await commands.create(siteId, packId, request.body, request.engineer.name);
        return reply.code(202).send({ id: record.id, status: record.status });
      } catch (err) {
        if (err instanceof CommandRequestError) return reply.code(err.status).send({ error: err.message });
        throw err;
      }
    },
  );

  app.get("/commands/:id", { config: { role: "engineer" }, schema: { params: CommandParams } }, async (request, reply) => {
    const record = await commandStore.get(request.params.id);
    // Another site's command answers exactly as an unknown one.
    if (!record || !canSee(request.engineer, record.siteId)) return reply.code(404).send({ error: `no command with id ${request.params.id}` });
    return record;
  });

  app.get(
    "/packs/:siteId/:packId/commands",
    { config: { role: "engineer", scope: "site" }, schema: { params: PackParams, querystring: LogQuery } },
    async (request) => {
      const { siteId, packId } = request.params;
      return { siteId, packId, commands: await commandStore.listForPack(siteId, packId, request.query.limit) };
    },
  );

  app.get("/packs/:siteId/:packId/parameters", { config: { role: "engineer", scope: "site" }, schema: { params: PackParams } }, async (request, reply) => {
    const { siteId, packId } = request.params;
    const known = commands.packParameters(siteId, packId);
    if (!known)
      return reply.code(404).send({ error: `pack ${siteId}/${packId} has reported no writable points (its agent has not, or its profile declares none)` });
    return { siteId, packId, ...known };
  });
}
