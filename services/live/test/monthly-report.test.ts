import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { verifyWebhookSignature } from "@bms/ingestion";
import { ConfigError, createLogger, PackHealth } from "@bms/shared";
import { parseScenario } from "@bms/simulators";
import { openSqliteWebhookOutbox, type SqliteCaseStore } from "@bms/storage";
import { type ParsedMail, simpleParser } from "mailparser";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { RuleBook } from "../../ingestion/src/rules/rule-book";
import { feedScenario, startFastEngine } from "../../ingestion/test/fixtures/scenario-feed";
import { loadCustomers } from "../src/access-list";
import { monthRange, previousMonth } from "../src/reports/monthly-report";
import { ReportScheduler, type ReportWebhookBody } from "../src/reports/report-delivery";
import { closeCase, type Harness, openCase, startHarness } from "./live-harness";

/** An SMTP server (smtp-server) that parses every mail it accepts into `mails`. */
function startSmtp(mails: ParsedMail[], port = 0): Promise<SMTPServer> {
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  return new Promise((resolve) => smtp.listen(port, "127.0.0.1", () => resolve(smtp)));
}

/** A webhook receiver keeping each body with its signature; it answers `status()` (204 unless told). */
async function startReceiver(
  hooks: { body: string; signature: string | undefined }[],
  status: () => number = () => 204,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      hooks.push({ body, signature: request.headers["x-bms-signature"] as string | undefined });
      response.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/reports` };
}

const closeServer = (server: { close(callback: () => void): unknown } | undefined) =>
  new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

/**
 * Pack health over REST and the monthly follow-up report: a customer of two sites and another of
 * one, their packs' health from pack states the rule engine committed to the shared case store,
 * cases with costs and spare parts; the report as HTML and PDF (opened with PDF.js), by email to a
 * real SMTP server (smtp-server) with the PDF attached, by signed webhook, and what a site-scoped
 * token may see.
 */

const ADMIN = "report-admin-token-0123456789";
const C2_TOKEN = "report-customer-two-token-0123";
const SITE_A_TOKEN = "report-site-a-viewer-token-012";
const TOKENS_YAML = `
customers:
  - { id: c1, name: Alpine Storage, sites: [site-a, site-b], emails: [ops@alpine.example, owner@alpine.example] }
  - { id: c2, name: Coastal Homes, sites: [site-c] }
tokens:
  - { token: ${ADMIN}, role: admin, name: Admin }
  - { token: ${C2_TOKEN}, role: viewer, customer: c2 }
  - { token: ${SITE_A_TOKEN}, role: viewer, sites: [site-a] }
`;
const PACKS: Record<string, string[]> = { "site-a": ["pack-1", "pack-2"], "site-b": ["pack-1", "pack-2"], "site-c": ["pack-1"] };

async function pdfText(pdf: Uint8Array): Promise<string> {
  const doc = await getDocument({ data: pdf, disableFontFace: true, useSystemFonts: false, verbosity: 0 }).promise;
  const pages: string[] = [];
  for (let i = 1; i <= doc.numPages; i++) {
    const content = await (await doc.getPage(i)).getTextContent();
    pages.push(content.items.map((item) => ("str" in item ? item.str : "")).join(" "));
  }
  await doc.destroy();
  return pages.join("\n");
}

describe("pack health and monthly reports", () => {
  let h: Harness;
  let month: string;
  let tokensDir: TempDir;
  let tokensFile: string;
  const get = (path: string, token = ADMIN) => fetch(`${h.live.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    tokensDir = makeTempDir("bms-tokens-");
    tokensFile = join(tokensDir.path, "tokens.yaml");
    writeFileSync(tokensFile, TOKENS_YAML);
    h = await startHarness({ tokensFile });
    const now = Date.now();
    month = new Date(now).toISOString().slice(0, 7);
    const t0 = Math.max(monthRange(month)[0], now - 3 * 3_600_000);
    // The ingestion's rule engine on the live service's case store: its pack states are what the health API reads.
    const fast = await startFastEngine(h.dataDir, { now: t0 });
    for (const [siteId, packs] of Object.entries(PACKS)) {
      const scenario = parseScenario({
        name: siteId,
        seed: siteId.charCodeAt(5),
        packs: packs.length,
        packDefaults: { capacityAh: 50 },
        durationS: 3 * 3600,
        intervalS: 30,
      });
      await feedScenario(fast.engine, scenario, { siteId, t0 });
    }
    await fast.close();
    const hot = await openCase(h.caseStore, "site-a", "pack-2", "over-temperature", { title: "Over-temperature on pack-2" });
    await h.caseStore.addCostLine(hot.id, { category: "labour", quantity: 2, unitPrice: 80, currency: "EUR", bearer: "company" }, "Admin", Date.now());
    await h.caseStore.addSparePart(hot.id, { part: "FAN-12V-80", quantity: 1, description: "cooling fan", bmsVersion: "1.2.3" }, "Admin", Date.now());
    await closeCase(h.caseStore, hot.id);
    await openCase(h.caseStore, "site-c", "pack-1", "cell-over-voltage", { title: "Cell over-voltage at Coastal" });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    tokensDir?.remove();
  });

  it("answers a pack's health with the figures the API promises", async () => {
    const response = await get("/api/packs/site-a/pack-1/health");
    expect(response.status).toBe(200);
    const health = PackHealth.parse(await response.json());
    expect(health.operatingHours).toBeGreaterThan(2.9);
    expect(health.throughputAh).toBeGreaterThan(0);
    expect(health.equivalentFullCycles).toBeCloseTo(health.throughputAh / (2 * 50), 2);
    // Three hours on the plateau: no rest at full and at empty yet, so no estimate, and it says why.
    expect(health.sohEstimatePct).toBeNull();
    expect(health.sohReason).toMatch(/^not enough data/);
    const keys = Object.keys(health.stressHours);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^soc \d+-\d+ \| (-?\d+-\d+ °C|below -?\d+ °C|\d+ °C and above|unknown °C)$/);
    expect(Object.values(health.stressHours).reduce((a, b) => a + b, 0)).toBeCloseTo(health.operatingHours, 2);

    const site = await (await get("/api/sites/site-a/health")).json();
    expect(site).toMatchObject({ siteId: "site-a", packs: 2, packIds: ["pack-1", "pack-2"] });
  });

  it("hides another site's health from a site-scoped token and refuses bad parameters", async () => {
    expect((await get("/api/packs/site-b/pack-1/health", SITE_A_TOKEN)).status).toBe(404);
    expect((await get("/api/sites/site-c/health", SITE_A_TOKEN)).status).toBe(404);
    expect((await get("/api/packs/site-a/pack-1/health", SITE_A_TOKEN)).status).toBe(200);
    expect((await get("/api/packs/site-a/no-such-pack/health")).status).toBe(404);
    expect((await get("/api/packs/site-a/pack%2F1/health")).status).toBe(400);
    expect((await fetch(`${h.live.url}/api/packs/site-a/pack-1/health`)).status).toBe(401);
    for (const query of [
      "month=2025-13",
      "month=25-01",
      "month=2025-01-01",
      "customer=../c1",
      "format=exe",
      "month=2025-01&extra=1",
      `customer=${"x".repeat(65)}`,
    ]) {
      const response = await get(`/api/reports/monthly?${query}`);
      expect(response.status, query).toBe(400);
      expect((await response.json()).error, query).toMatch(/\w/);
    }
  });

  it("renders a customer's two sites in HTML, naming every pack, its cases, costs and parts", async () => {
    const started = performance.now();
    const response = await get(`/api/reports/monthly?month=${month}&customer=c1`);
    const html = await response.text();
    console.log(`HTML report: ${html.length} bytes in ${(performance.now() - started).toFixed(0)} ms`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(html).toContain("Alpine Storage");
    for (const site of ["site-a", "site-b"]) expect(html).toContain(`Site ${site}`);
    expect(html.match(/<h4>Pack pack-\d<\/h4>/g)).toHaveLength(4);
    expect(html).toContain("Over-temperature on pack-2");
    expect(html).toContain("EUR 160.00 company");
    expect(html).toContain("FAN-12V-80");
    expect(html).not.toContain("site-c");
    expect(html).not.toContain("Coastal");
  });

  it("renders the same report as a PDF that PDF.js opens and that names every pack", async () => {
    const started = performance.now();
    const response = await get(`/api/reports/monthly?month=${month}&customer=c1&format=pdf`);
    const pdf = new Uint8Array(await response.arrayBuffer());
    console.log(`PDF report: ${pdf.length} bytes in ${(performance.now() - started).toFixed(0)} ms`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    const text = await pdfText(pdf);
    expect(text).toContain("Alpine Storage");
    for (const site of ["site-a", "site-b"]) {
      expect(text).toContain(`Site ${site}`);
    }
    expect(text.match(/Pack pack-\d/g)).toHaveLength(4);
    expect(text).toContain("FAN-12V-80");
  });

  it("shows a customer-scoped token its own report only", async () => {
    expect((await get(`/api/reports/monthly?month=${month}&customer=c1`, C2_TOKEN)).status).toBe(404);
    const own = await (await get(`/api/reports/monthly?month=${month}`, C2_TOKEN)).text();
    expect(own).toContain("Coastal Homes");
    expect(own).toContain("Cell over-voltage at Coastal");
    expect(own).not.toContain("site-a");
    // A token of one site of a customer sees that site only, even in the customer's report.
    const partial = await (await get(`/api/reports/monthly?month=${month}&customer=c1`, SITE_A_TOKEN)).text();
    expect(partial).toContain("Site site-a");
    expect(partial).not.toContain("Site site-b");
    expect((await get(`/api/reports/monthly?month=${month}&customer=c2`, SITE_A_TOKEN)).status).toBe(404);
  });

  it("refuses a TOKENS_FILE customer whose report addresses are not plain addresses (no header injection)", () => {
    const file = join(tokensDir.path, "bad-emails.yaml");
    writeFileSync(
      file,
      ["customers:", '  - { id: c9, name: Bad, sites: [site-z], emails: [not-an-address, "ops@x.example\\r\\nBcc: all@evil.example"] }', "tokens: []", ""].join(
        "\n",
      ),
    );
    let problems: readonly string[] = [];
    try {
      loadCustomers({ tokensFile: file });
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems.some((p) => p.startsWith("customers.0.emails.0"))).toBe(true);
    expect(problems.some((p) => p.startsWith("customers.0.emails.1"))).toBe(true);
  });

  describe("delivery on the first of the month", () => {
    let smtp: SMTPServer;
    let smtpPort: number;
    const mails: ParsedMail[] = [];
    let hook: Server;
    let hookUrl: string;
    const hooks: { body: string; signature: string | undefined }[] = [];

    beforeAll(async () => {
      smtp = await startSmtp(mails);
      smtpPort = (smtp.server.address() as { port: number }).port;
      ({ server: hook, url: hookUrl } = await startReceiver(hooks));
    });

    afterAll(async () => {
      await closeServer(smtp);
      await closeServer(hook);
    });

    it("mails each customer the month's report with the PDF attached, posts it signed, and sends once", async () => {
      const secret = "report-webhook-secret-0123456789";
      const firstOfNext = monthRange(month)[1] + 3_600_000;
      const cursors = openSqliteWebhookOutbox(join(h.dataDir, "cases.db"));
      const scheduler = new ReportScheduler({
        config: {
          smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
          from: "Follow-up <reports@bms.example>",
          webhook: { url: hookUrl, secret },
          schedule: true,
          checkEveryMs: 3_600_000,
        },
        customers: loadCustomers({ tokensFile }),
        sources: { caseStore: h.caseStore, packStates: h.caseStore as SqliteCaseStore, book: RuleBook.load() },
        cursors,
        log: createLogger("reports-test", "error"),
        now: () => firstOfNext,
      });
      await scheduler.runDue();
      await scheduler.runDue();
      await scheduler.stop();
      await cursors.close();

      // Only Alpine has email addresses; both customers go to the webhook; nothing twice.
      expect(mails).toHaveLength(1);
      const mail = mails[0] as ParsedMail;
      expect(mail.subject).toBe(`Monthly follow-up ${month}: Alpine Storage`);
      const to = Array.isArray(mail.to) ? mail.to : [mail.to];
      expect(to.flatMap((a) => a?.value.map((v) => v.address) ?? []).sort()).toEqual(["ops@alpine.example", "owner@alpine.example"]);
      expect(mail.attachments).toHaveLength(1);
      const attachment = mail.attachments[0];
      expect(attachment?.contentType).toBe("application/pdf");
      expect(attachment?.filename).toBe(`follow-up-${month}-c1.pdf`);
      const text = await pdfText(new Uint8Array(attachment?.content as Buffer));
      expect(text.match(/Pack pack-\d/g)).toHaveLength(4);

      expect(hooks).toHaveLength(2);
      for (const delivery of hooks) expect(verifyWebhookSignature(secret, delivery.body, delivery.signature, firstOfNext)).toBe(true);
      const bodies = hooks.map((d) => JSON.parse(d.body) as ReportWebhookBody);
      expect(bodies.map((b) => b.customer.id).sort()).toEqual(["c1", "c2"]);
      const c2 = bodies.find((b) => b.customer.id === "c2") as ReportWebhookBody;
      expect(c2).toMatchObject({ event: "report.monthly", month, sites: ["site-c"] });
      expect(Buffer.from(c2.pdfBase64, "base64").subarray(0, 5).toString()).toBe("%PDF-");
    });

    it("runs from the live service's reports config and retries each channel that failed at the next check", async () => {
      const secret = "report-webhook-secret-9876543210";
      const laterPort = await freePort();
      const laterMails: ParsedMail[] = [];
      const laterHooks: { body: string; signature: string | undefined }[] = [];
      const answered: number[] = [];
      // The receiver refuses the first post; the SMTP server is not up at first.
      const receiver = await startReceiver(laterHooks, () => {
        answered.push(answered.length === 0 ? 503 : 204);
        return answered.at(-1) as number;
      });
      let lateSmtp: SMTPServer | undefined;
      const second = await startHarness({
        tokensFile,
        reports: { smtpUrl: `smtp://127.0.0.1:${laterPort}`, webhook: { url: receiver.url, secret }, checkEveryMs: 1000 },
      });
      try {
        await waitFor(() => answered.includes(503), 10_000, "the refused webhook post");
        // With the SMTP server down, the webhooks still go (each channel on its own).
        await waitFor(() => answered.filter((a) => a === 204).length === 2, 10_000, "both customers' webhook posts");
        expect(laterMails).toHaveLength(0);
        lateSmtp = await startSmtp(laterMails, laterPort);
        await waitFor(() => laterMails.length === 1, 10_000, "the mail once the SMTP server is up");
        const lastMonth = previousMonth(Date.now());
        expect(laterMails[0]?.subject).toBe(`Monthly follow-up ${lastMonth}: Alpine Storage`);
        expect(laterMails[0]?.attachments[0]?.contentType).toBe("application/pdf");
        const delivered = laterHooks.filter((_, i) => answered[i] === 204).map((d) => JSON.parse(d.body) as ReportWebhookBody);
        expect(delivered.map((b) => b.customer.id).sort()).toEqual(["c1", "c2"]);
        // Sent is remembered: later checks send nothing more.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(laterMails).toHaveLength(1);
        expect(answered.filter((a) => a === 204)).toHaveLength(2);
      } finally {
        await second.close();
        await closeServer(lateSmtp);
        await closeServer(receiver.server);
      }
    });
  });
});
