import { SIGNATURE_HEADER, signWebhook } from "@bms/ingestion";
import type { Customer, Logger } from "@bms/shared";
import type { ReportsConfig } from "@bms/shared/config/live-config";
import type { WebhookOutbox } from "@bms/storage";
import type { Transporter } from "nodemailer";
import { buildCustomerReport, type CustomerReport, previousMonth, type ReportSources } from "./monthly-report";
import { renderReportHtml, reportTitle } from "./report-html";
import { renderReportPdf } from "./report-pdf";

/**
 * Sends each customer last month's report when the month turns: by email (nodemailer, the PDF
 * attached, the HTML as the body) to the customer's `emails`, and by webhook (JSON with the PDF,
 * signed like the case webhooks). What was sent is remembered per customer and channel as a
 * cursor (YYYYMM) in the webhook outbox's table, so a restart neither sends twice nor skips a
 * month; a failed send is retried at the next check (at least once: a crash between sending and
 * remembering sends again). Only the month just ended is ever due: a service down for longer does
 * not send a backlog of old reports.
 */

export interface ReportSchedulerOptions {
  config: ReportsConfig;
  customers: readonly Customer[];
  sources: ReportSources;
  cursors: Pick<WebhookOutbox, "getCursor" | "setCursor">;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
}

/** What a report webhook receiver gets (JSON). */
export interface ReportWebhookBody {
  id: string;
  event: "report.monthly";
  month: string;
  customer: { id: string; name: string };
  sites: string[];
  /** Per site: packs, lowest SOH, cases opened and closed, what to watch. */
  summary: { siteId: string; packs: number; lowestSohPct: number | null; opened: number; closed: number; watch: string[] }[];
  pdfBase64: string;
}

const yyyymm = (month: string) => Number(month.replace("-", ""));

export class ReportScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;
  private mailer: Transporter | null = null;

  constructor(private readonly options: ReportSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The SMTP transport (nodemailer loaded on first use, so the service starts without it); null without smtpUrl. */
  private async transport(): Promise<Transporter | null> {
    const url = this.options.config.smtpUrl;
    if (url === undefined) return null;
    if (this.mailer === null) {
      const { default: nodemailer } = await import("nodemailer");
      this.mailer = nodemailer.createTransport(url);
    }
    return this.mailer;
  }

  /** Checks now, then every `checkEveryMs`. */
  start(): void {
    const tick = () => {
      this.running = this.runDue().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(tick, this.options.config.checkEveryMs).unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.mailer?.close();
  }

  /** Sends every report due now (the month just ended, per customer and channel, not sent yet). */
  async runDue(): Promise<void> {
    const month = previousMonth(this.now());
    for (const customer of this.options.customers) {
      try {
        await this.deliver(customer, month);
      } catch (err) {
        this.options.log.error({ err, customer: customer.id, month }, "monthly report failed; retried at the next check");
      }
    }
  }

  /** Each channel on its own: an SMTP server that is down does not hold back the webhook, nor the other way round. */
  private async deliver(customer: Customer, month: string): Promise<void> {
    const { config, cursors, log } = this.options;
    const emailKey = `report:${customer.id}:email`;
    const webhookKey = `report:${customer.id}:webhook`;
    const mailer = customer.emails.length > 0 ? await this.transport() : null;
    const wantEmail = mailer !== null && (await cursors.getCursor(emailKey)) < yyyymm(month);
    const wantWebhook = config.webhook !== undefined && (await cursors.getCursor(webhookKey)) < yyyymm(month);
    if (!wantEmail && !wantWebhook) return;
    const report = await buildCustomerReport(this.options.sources, customer, customer.sites, month, this.now());
    const pdf = await renderReportPdf([report]);
    if (wantEmail && mailer) {
      try {
        await mailer.sendMail({
          from: config.from,
          to: customer.emails,
          subject: reportTitle(report),
          text: `${reportTitle(report)}: the report is attached as a PDF.`,
          html: renderReportHtml([report]),
          attachments: [{ filename: `follow-up-${month}-${customer.id}.pdf`, content: pdf, contentType: "application/pdf" }],
        });
        await cursors.setCursor(emailKey, yyyymm(month));
        log.info({ customer: customer.id, month, to: customer.emails.length, bytes: pdf.length }, "monthly report mailed");
      } catch (err) {
        log.error({ err, customer: customer.id, month, channel: "email" }, "monthly report not mailed; retried at the next check");
      }
    }
    if (wantWebhook && config.webhook) {
      try {
        await this.post(config.webhook, report, pdf);
        await cursors.setCursor(webhookKey, yyyymm(month));
        log.info({ customer: customer.id, month, url: config.webhook.url }, "monthly report sent by webhook");
      } catch (err) {
        log.error({ err, customer: customer.id, month, channel: "webhook" }, "monthly report not posted; retried at the next check");
      }
    }
  }

  private async post(webhook: NonNullable<ReportsConfig["webhook"]>, report: CustomerReport, pdf: Buffer): Promise<void> {
    const body: ReportWebhookBody = {
      id: `report.${report.month}.${report.customer.id}`,
      event: "report.monthly",
      month: report.month,
      customer: report.customer,
      sites: report.sites.map((s) => s.siteId),
      summary: report.sites.map((s) => ({
        siteId: s.siteId,
        packs: s.packs.length,
        lowestSohPct: s.summary.lowestSohPct,
        opened: s.opened.length,
        closed: s.closed.length,
        watch: s.watch,
      })),
      pdfBase64: pdf.toString("base64"),
    };
    const text = JSON.stringify(body);
    const response = await fetch(webhook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-bms-event": body.event,
        "x-bms-delivery": body.id,
        [SIGNATURE_HEADER]: signWebhook(webhook.secret, text, this.now()),
      },
      body: text,
      signal: AbortSignal.timeout(10_000),
      redirect: "error",
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status >= 300) throw new Error(`the report webhook answered HTTP ${response.status}`);
  }
}
