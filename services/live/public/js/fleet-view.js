// Fleet triage, the first screen: sites and packs by urgency, counts per state, search, pages.

import { api } from "./api.js";
import { announce, card, el, h } from "./dom.js";
import { ago, fixed, STATE_LOOK } from "./format.js";
import { reportCard } from "./report-card.js";
import { packHref } from "./router.js";
import { codeTags, levelled, levelOf, limitsFor, severityTag, stateTag } from "./widgets.js";

const PAGE = 100;
const REFRESH_MS = 5000;
const STATES = ["critical", "warning", "offline", "healthy"];

function packRow(p, meta) {
  const limits = limitsFor(meta, p.chemistry);
  const cell = (field, text, level, className = "num") => {
    const td = h("td", { class: className, dataset: { field, label: FIELD_LABELS[field] } });
    td.append(levelled(text, level));
    return td;
  };
  const name = h(
    "td",
    { class: "name", dataset: { label: "Pack" } },
    h("a", { href: packHref(p.siteId, p.packId) }, `${p.siteId} / ${p.packId}`),
    p.serial || p.model ? el("div", [p.model, p.serial && `SN ${p.serial}`].filter(Boolean).join(" · "), "muted") : null,
  );
  const cases = h(
    "td",
    { dataset: { field: "cases", label: "Cases" } },
    p.activeCases > 0 ? [severityTag(p.worstSeverity), ` ${p.activeCases}`] : el("span", "none", "muted"),
  );
  return h(
    "tr",
    { dataset: { pack: `${p.siteId}/${p.packId}`, state: p.state }, class: p.offline ? "stale" : "" },
    h("td", { dataset: { label: "State" } }, stateTag(p.state)),
    name,
    cell("soc", fixed(p.soc, 1), levelOf(p.soc, limits.soc)),
    cell("soh", fixed(p.soh, 1), ""),
    cell("voltage", fixed(p.packVoltage, 1), ""),
    cell("current", fixed(p.current, 1), ""),
    cell("min-cell", fixed(p.cellVoltageMin, 3), levelOf(p.cellVoltageMin, limits["cell-voltage-min"])),
    cell("max-cell", fixed(p.cellVoltageMax, 3), levelOf(p.cellVoltageMax, limits["cell-voltage-max"])),
    cell("max-temp", fixed(p.temperatureMax, 1), levelOf(p.temperatureMax, limits["temperature-max"])),
    cases,
    h("td", { dataset: { field: "alarms", label: "BMS codes" } }, codeTags(p.bmsAlarms)),
    h("td", { class: "muted", dataset: { field: "updated", label: "Updated" } }, p.receivedAt ? ago(p.receivedAt) : "no sample yet"),
  );
}

const FIELD_LABELS = {
  soc: "SOC %",
  soh: "SOH %",
  voltage: "Pack V",
  current: "Current A",
  "min-cell": "Min cell V",
  "max-cell": "Max cell V",
  "max-temp": "Max temp °C",
};

function siteRow(s) {
  const a = s.agent;
  const failing = a.failingDevices.length
    ? h(
        "span",
        { class: "alarm" },
        `${a.failingDevices.length} failing: `,
        a.failingDevices.map((d) => `${d.packId}${d.lastError ? ` (${d.lastError})` : ""}`).join(", "),
      )
    : el("span", "all answering", "muted");
  return h(
    "tr",
    { dataset: { site: s.siteId } },
    h("td", { dataset: { label: "State" } }, stateTag(s.state)),
    h("td", { class: "name", dataset: { label: "Site" } }, h("a", { href: `#/?q=${encodeURIComponent(s.siteId)}` }, s.siteId)),
    h(
      "td",
      { dataset: { label: "Packs" } },
      `${s.packs} (${
        STATES.filter((k) => s.counts[k] > 0)
          .map((k) => `${s.counts[k]} ${STATE_LOOK[k].text.toLowerCase()}`)
          .join(", ") || "none"
      })`,
    ),
    h(
      "td",
      { dataset: { label: "Agent" } },
      a.state === "offline" ? h("span", { class: "alarm" }, "✖ offline") : a.state === "online" ? "online" : el("span", "no status", "muted"),
    ),
    h("td", { class: "muted", dataset: { label: "Last contact" } }, a.lastContact ? ago(a.lastContact) : "never"),
    h("td", { class: "num", dataset: { label: "Queued" } }, a.queueDepth === null ? "–" : String(a.queueDepth)),
    h("td", { dataset: { label: "Devices" } }, failing),
  );
}

export function renderFleet(page, { query, ctx }) {
  const state = { q: query.get("q") || "", filter: query.get("state") || "", offset: Number(query.get("offset")) || 0 };
  const counts = h("div", { class: "chips", role: "group", "aria-label": "Show packs by state" });
  const search = h("input", { type: "search", id: "fleet-search", value: state.q, placeholder: "site, pack or serial", autocomplete: "off" });
  const packBody = el("tbody");
  const siteBody = el("tbody");
  const summary = el("span", null, "muted");
  const error = el("p", null, "error");
  error.setAttribute("role", "alert");
  const prev = h("button", { type: "button", id: "fleet-prev" }, "‹ Previous");
  const next = h("button", { type: "button", id: "fleet-next" }, "Next ›");
  const packTable = h(
    "table",
    { id: "packs", class: "responsive" },
    h("caption", { class: "sr-only" }, "Packs, most urgent first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["State", "Site / pack", "SOC %", "SOH %", "Pack V", "Current A", "Min cell V", "Max cell V", "Max temp °C", "Cases", "BMS codes", "Updated"].map(
          (t, i) => h("th", { scope: "col", class: i >= 2 && i <= 8 ? "num" : "" }, t),
        ),
      ),
    ),
    packBody,
  );
  const siteTable = h(
    "table",
    { id: "sites", class: "responsive" },
    h("caption", { class: "sr-only" }, "Sites, most urgent first, with their agents' link health"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["State", "Site", "Packs", "Agent", "Last contact", "Queued", "Devices"].map((t) =>
          h("th", { scope: "col", class: t === "Queued" ? "num" : "" }, t),
        ),
      ),
    ),
    siteBody,
  );
  const siteCount = el("span", null, "muted");
  page.replaceChildren(
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Fleet"), summary),
    h("form", { role: "search", class: "search", onsubmit: (ev) => ev.preventDefault() }, h("label", { for: "fleet-search" }, "Search"), search),
    counts,
    error,
    card("Packs", h("div", { class: "table-wrap" }, packTable), h("div", { class: "pager" }, prev, h("span", { id: "fleet-range", class: "muted" }), next)),
    h("details", { class: "card sites", open: true }, h("summary", {}, h("h2", {}, "Sites "), siteCount), h("div", { class: "table-wrap" }, siteTable)),
    reportCard(),
  );

  let timer = null;
  let stopped = false;
  let firstRender = true;
  const syncHash = () => {
    const q = new URLSearchParams();
    if (state.q) q.set("q", state.q);
    if (state.filter) q.set("state", state.filter);
    if (state.offset) q.set("offset", String(state.offset));
    const hash = `#/${q.toString() ? `?${q}` : ""}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  };

  const draw = (answer) => {
    counts.replaceChildren(
      ...[["", `All ${answer.total}`], ...STATES.map((s) => [s, `${STATE_LOOK[s].text} ${answer.counts[s]}`])].map(([value, text]) =>
        h(
          "button",
          {
            type: "button",
            class: `chip ${value ? `state-${value}` : ""}`,
            "aria-pressed": String(state.filter === value),
            dataset: { state: value || "all" },
            onclick: () => {
              state.filter = value;
              state.offset = 0;
              refresh();
            },
          },
          text,
        ),
      ),
    );
    packBody.replaceChildren(...answer.packs.map((p) => packRow(p, ctx.meta)));
    if (answer.packs.length === 0)
      packBody.append(h("tr", {}, h("td", { colspan: "12", class: "muted" }, answer.total === 0 ? "No pack has reported yet." : "No pack matches.")));
    siteBody.replaceChildren(...answer.sites.map(siteRow));
    siteCount.textContent = answer.siteCount > answer.sites.length ? `(${answer.sites.length} most urgent of ${answer.siteCount})` : `(${answer.siteCount})`;
    const first = answer.matched === 0 ? 0 : answer.offset + 1;
    const last = answer.offset + answer.packs.length;
    document.getElementById("fleet-range").textContent = `${first}–${last} of ${answer.matched}`;
    prev.disabled = answer.offset === 0;
    next.disabled = last >= answer.matched;
    summary.textContent = `${answer.total} packs on ${answer.siteCount} sites`;
    if (firstRender) {
      firstRender = false;
      performance.mark("fleet-rendered");
      document.body.dataset.fleetRendered = String(answer.total);
    }
  };

  async function refresh() {
    clearTimeout(timer);
    syncHash();
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    if (state.q) q.set("q", state.q);
    if (state.filter) q.set("state", state.filter);
    try {
      const answer = await api(`/api/fleet?${q}`);
      if (stopped) return;
      error.textContent = "";
      draw(answer);
    } catch (err) {
      if (!stopped && err.status !== 401) error.textContent = `Could not load the fleet: ${err.message}`;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.q = search.value.trim();
      state.offset = 0;
      refresh().then(() => announce(`${document.getElementById("fleet-range").textContent} packs`));
    }, 250);
  });
  prev.addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    refresh();
  });
  next.addEventListener("click", () => {
    state.offset += PAGE;
    refresh();
  });
  // Case events change the order at once; samples only refresh with the page.
  const stopCases = ctx.on("case", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stopCases();
  };
}
