// Cases, open or closed, found by status, severity, site, pack, rule and assignee.

import { api } from "./api.js";
import { announce, card, el, h } from "./dom.js";
import { when } from "./format.js";
import { caseHref, packHref } from "./router.js";
import { notice, severityTag } from "./widgets.js";

const STATUSES = ["active", "open", "acknowledged", "remote-diagnosis", "on-site-visit", "resolved", "closed", "any"];
const SEVERITIES = ["any", "critical", "major", "minor", "warning"];
const TEXT_FILTERS = [
  ["siteId", "Site"],
  ["packId", "Pack"],
  ["ruleId", "Rule"],
  ["assignee", "Assigned to"],
];

export function renderCases(page, { query }) {
  const status = query.get("status") || "active";
  const severity = query.get("severity") || "any";
  const select = (name, options, value) =>
    h(
      "select",
      { name, id: `filter-${name}` },
      options.map((o) => h("option", { value: o, selected: o === value }, o)),
    );
  const form = h(
    "form",
    { class: "filters", role: "search", id: "case-filters" },
    h("label", { class: "field" }, el("span", "Status"), select("status", STATUSES, status)),
    h("label", { class: "field" }, el("span", "Severity"), select("severity", SEVERITIES, severity)),
    TEXT_FILTERS.map(([name, label]) =>
      h("label", { class: "field" }, el("span", label), h("input", { name, id: `filter-${name}`, value: query.get(name) || "", maxlength: "128" })),
    ),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  const body = el("tbody");
  const error = el("p", null, "error");
  error.setAttribute("role", "alert");
  const count = el("span", null, "muted");
  page.replaceChildren(
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Cases"), count),
    form,
    error,
    card(
      "Results",
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "cases", class: "responsive" },
          h("caption", { class: "sr-only" }, "Cases matching the filters, newest first"),
          h(
            "thead",
            {},
            h("tr", {}, ...["Severity", "Site / pack", "Problem", "Status", "Opened", "Updated", "Assigned to"].map((t) => h("th", { scope: "col" }, t))),
          ),
          body,
        ),
      ),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [key, value] of new FormData(form))
      if (String(value).trim() && value !== "any" && !(key === "status" && value === "active")) q.set(key, String(value).trim());
    location.hash = `#/cases${q.toString() ? `?${q}` : ""}`;
  });

  const q = new URLSearchParams({ limit: "200" });
  if (status !== "any") q.set("status", status);
  if (severity !== "any") q.set("severity", severity);
  for (const [name] of TEXT_FILTERS) if (query.get(name)) q.set(name, query.get(name));
  let stopped = false;
  api(`/api/cases?${q}`)
    .then((cases) => {
      if (stopped) return;
      body.replaceChildren(
        ...cases.map((c) =>
          h(
            "tr",
            { dataset: { caseId: c.id } },
            h("td", { dataset: { label: "Severity" } }, severityTag(c.severity)),
            h("td", { dataset: { label: "Pack" } }, h("a", { href: packHref(c.siteId, c.packId) }, `${c.siteId} / ${c.packId}`)),
            h("td", { dataset: { label: "Problem" } }, h("a", { href: caseHref(c.id) }, c.title)),
            h("td", { dataset: { label: "Status" } }, `${c.status}${c.clearedAt ? " (cleared)" : ""}`),
            h("td", { dataset: { label: "Opened" } }, when(c.openedAt)),
            h("td", { dataset: { label: "Updated" } }, when(c.updatedAt)),
            h("td", { dataset: { label: "Assigned to" } }, c.assignee || "–"),
          ),
        ),
      );
      if (cases.length === 0) body.append(h("tr", {}, h("td", { colspan: "7" }, notice("No case matches."))));
      count.textContent = `${cases.length}${cases.length === 200 ? "+" : ""} found`;
      announce(`${cases.length} cases found`);
    })
    .catch((err) => {
      if (!stopped && err.status !== 401) error.textContent = `Could not search: ${err.message}`;
    });
  return () => {
    stopped = true;
  };
}
