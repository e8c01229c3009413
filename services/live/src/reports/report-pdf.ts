import type { CaseLine, CustomerReport } from "./monthly-report";
import { costText, date, packFigures, reportTitle } from "./report-html";

/**
 * The report as a PDF, with pdfkit (pure JavaScript: the live service needs no browser). The same
 * figures as the HTML, laid out as headings and lines; the standard Helvetica font's character set
 * (WinAnsi) covers the text.
 */

/** Helvetica's WinAnsi set lacks a few signs the text uses: spelt out. */
const SPELT: Record<string, string> = { Ω: "Ohm", "≥": ">=", "≤": "<=", "→": "->", "−": "-" };

export function pdfSafe(text: string): string {
  return text.replace(/[Ω≥≤→−]/g, (ch) => SPELT[ch] as string);
}

function caseText(c: CaseLine): string {
  return `${c.packId}: ${c.title} (${c.severity}, ${c.status}) opened ${date(c.openedAt)}${c.closedAt ? `, closed ${date(c.closedAt)}` : ""}; warranty ${c.warranty ?? "–"}; costs ${costText(c.costs)}`;
}

export async function renderReportPdf(reports: readonly CustomerReport[]): Promise<Buffer> {
  // Loaded when a PDF is asked for: the service starts without it.
  const { default: PDFDocument } = await import("pdfkit");
  const doc = new PDFDocument({
    size: "A4",
    margin: 50,
    info: { Title: reports.length === 1 ? reportTitle(reports[0] as CustomerReport) : "Monthly follow-up", Producer: "bms-telemetry" },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  const text = (line: string, options?: PDFKit.Mixins.TextOptions) => doc.text(pdfSafe(line), options);
  const heading = (line: string, size: number) => {
    doc.moveDown(0.5).font("Helvetica-Bold").fontSize(size);
    text(line);
    doc.font("Helvetica").fontSize(9);
  };
  const list = (lines: readonly string[], none = "None.") => {
    if (lines.length === 0) text(none);
    for (const line of lines) text(`• ${line}`, { indent: 8 });
  };
  reports.forEach((r, i) => {
    if (i > 0) doc.addPage();
    heading(reportTitle(r), 16);
    text(`Made ${new Date(r.generatedAt).toISOString()} · costs this month: ${costText(r.costs)}`);
    for (const site of r.sites) {
      heading(`Site ${site.siteId}`, 13);
      text(
        `${site.summary.packs} packs · lowest SOH ${site.summary.lowestSohPct ?? "not estimated yet"} · ${site.summary.dischargedKWh} kWh discharged in all`,
      );
      for (const p of site.packs) {
        heading(`Pack ${p.packId}`, 11);
        text(`${p.pack.model ?? ""} ${p.pack.serial ?? ""} · ${p.pack.chemistry ?? ""} · ${p.pack.ratedCapacityAh} Ah`);
        for (const [k, v] of packFigures(p)) text(`${k}: ${v}`, { indent: 8 });
      }
      heading("Cases opened this month", 11);
      list(site.opened.map(caseText));
      heading("Cases closed this month", 11);
      list(site.closed.map(caseText));
      heading("Spare parts used", 11);
      list(site.parts.map((p) => `${p.quantity} × ${p.part} ${p.description} (pack ${p.packId}, ${date(p.addedAt)})`));
      heading("Costs this month", 11);
      text(costText(site.costs));
      heading("To watch next month", 11);
      list(site.watch, "Nothing in particular.");
    }
  });
  if (reports.length === 0) text("No customer's sites to report.");
  doc.end();
  return done;
}
