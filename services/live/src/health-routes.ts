import { readAllPackHealth, readPackHealth, siteHealthReport } from "@bms/ingestion";
import { Id } from "@bms/shared";
import { z } from "zod";
import { canSee, type Engineer } from "./engineer-auth";
import { buildCustomerReport, type CustomerReport, previousMonth } from "./reports/monthly-report";
import { renderReportHtml } from "./reports/report-html";
import { renderReportPdf } from "./reports/report-pdf";
import type { RestDeps, ZodApp } from "./rest-types";

const PackParams = z.object({ siteId: Id, packId: Id }).strict();
const SiteParams = z.object({ siteId: Id }).strict();

/** `?month=YYYY-MM[&customer=ID][&format=html|pdf]`; the month defaults to the one just ended. */
export const MonthlyReportQuery = z
  .object({
    month: z
      .string()
      .regex(/^(19|20|21)\d{2}-(0[1-9]|1[0-2])$/, "a month as YYYY-MM, e.g. 2025-03")
      .optional(),
    customer: Id.optional(),
    /** @default "html" */
    format: z.enum(["html", "pdf"]).default("html"),
  })
  .strict();

const READ_PACK = { config: { role: "viewer", scope: "site" } } as const;

/**
 * Pack and site health (from the pack states the ingestion commits to the case store, read
 * without the engine: warranty/health-reader.ts in the ingestion package) and the monthly
 * follow-up report, limited to what the token may see.
 */
export async function healthRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  const { packStates, book } = deps;

  app.get("/packs/:siteId/:packId/health", { ...READ_PACK, schema: { params: PackParams } }, async (request, reply) => {
    const { siteId, packId } = request.params;
    const health = await readPackHealth(packStates, book, siteId, packId, Date.now());
    return health ?? reply.code(404).send({ error: `no health for pack ${siteId}/${packId} yet: the ingestion has not counted a sample of it` });
  });

  app.get("/sites/:siteId/health", { ...READ_PACK, schema: { params: SiteParams } }, async (request) => {
    const { siteId } = request.params;
    const packs = await readAllPackHealth(packStates, book, (site) => site === siteId, Date.now());
    return { ...siteHealthReport(siteId, packs), packIds: packs.map((p) => p.packId) };
  });

  /** The customers (and their sites, cut to the token's) a report covers; null when `customer` is not one the token may see. */
  const reportScope = (engineer: Engineer, customerId: string | undefined): { id: string; name: string; sites: string[] }[] | null => {
    const visible = (sites: readonly string[]) => sites.filter((s) => canSee(engineer, s));
    const asked = customerId ?? engineer.customer?.id;
    if (asked !== undefined) {
      const customer = deps.customers.find((c) => c.id === asked);
      // A customer the token sees none of answers as an unknown one.
      if (!customer || visible(customer.sites).length === 0) return null;
      return [{ id: customer.id, name: customer.name, sites: visible(customer.sites) }];
    }
    const scoped = deps.customers.map((c) => ({ id: c.id, name: c.name, sites: visible(c.sites) })).filter((c) => c.sites.length > 0);
    if (scoped.length > 0 || deps.customers.length > 0) return scoped;
    // No customers defined: one report of every site the token sees, from the sites the store knows.
    return [{ id: "all", name: "All sites", sites: [] }];
  };

  app.get("/reports/monthly", { config: { role: "viewer" }, schema: { querystring: MonthlyReportQuery } }, async (request, reply) => {
    const now = Date.now();
    const month = request.query.month ?? previousMonth(now);
    const scope = reportScope(request.engineer, request.query.customer);
    if (scope === null) return reply.code(404).send({ error: `no customer ${request.query.customer ?? request.engineer.customer?.id ?? ""}` });
    const reports: CustomerReport[] = [];
    for (const customer of scope) {
      let sites = customer.sites;
      if (customer.id === "all" && sites.length === 0) {
        const all = new Set((await packStates.loadStates()).map((row) => row.siteId).filter((s) => !s.startsWith("_") && canSee(request.engineer, s)));
        sites = [...all];
      }
      reports.push(await buildCustomerReport({ caseStore: deps.caseStore, packStates, book }, customer, sites, month, now));
    }
    if (request.query.format === "pdf") {
      const pdf = await renderReportPdf(reports);
      return reply
        .type("application/pdf")
        .header("content-disposition", `inline; filename="follow-up-${month}${request.query.customer ? `-${request.query.customer}` : ""}.pdf"`)
        .send(pdf);
    }
    return reply.type("text/html; charset=utf-8").send(renderReportHtml(reports));
  });
}
