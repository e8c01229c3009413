// The monthly follow-up card: downloads a month's report (GET /api/reports/monthly) as PDF or
// HTML; the server limits it to what the token may see.

import { request } from "./api.js";
import { card, h } from "./dom.js";

/** The month just ended (UTC), as the server's default. */
function lastMonth(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

export function reportCard() {
  const month = h("input", { id: "report-month", name: "month", type: "month", min: "1900-01", max: "2199-12", required: true, value: lastMonth() });
  const error = h("p", { id: "report-error", class: "error", role: "alert" });

  async function download(format) {
    error.textContent = "";
    try {
      const res = await request(`/api/reports/monthly?month=${encodeURIComponent(month.value)}&format=${format}`);
      const link = h("a", { href: URL.createObjectURL(await res.blob()), download: `follow-up-${month.value}.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (err) {
      if (err.status !== 401 && err.status !== 429) error.textContent = `Could not make the report: ${err.message}`;
    }
  }

  const form = h(
    "form",
    {
      id: "report-form",
      onsubmit: (ev) => {
        ev.preventDefault();
        download(ev.submitter?.dataset.format || "pdf");
      },
    },
    h(
      "label",
      { for: "report-month" },
      "Per customer: each site's packs with health and stress, the month's cases with costs and bearers, spare parts, what to watch.",
    ),
    h(
      "div",
      { class: "row" },
      month,
      h("button", { type: "submit", dataset: { format: "pdf" } }, "Download PDF"),
      h("button", { type: "submit", dataset: { format: "html" } }, "Download HTML"),
    ),
  );
  const section = card("Monthly follow-up", form, error);
  section.id = "reports-section";
  return section;
}
