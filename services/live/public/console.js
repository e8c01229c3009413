// BMS live console: plain browser JavaScript, no build step. All data is written with
// textContent (never innerHTML), so a hostile pack or case field cannot inject markup.

(() => {
  const TOKEN_KEY = "bms-engineer-token";
  const STALE_MS = 60_000;
  const PACK_REFRESH_MS = 10_000;
  /** How a rule level's severity shows on a value. */
  const SHOWN_AS = { warning: "warn", minor: "warn", major: "alarm", critical: "alarm" };

  const $ = (id) => document.getElementById(id);
  const packs = new Map(); // "site/pack" -> { siteId, packId, sample, meta, receivedAt }
  const subscribedSites = new Set();
  const expandedCases = new Set();
  /** Packs whose health panel is open: "site/pack" -> the health answer, { error }, or { loading: true }. */
  const packHealth = new Map();
  let socket = null;
  let token = null;
  let casesTimer = null;
  /** GET /api/meta: the rules' limits per chemistry and the case moves, from the server. */
  let meta = null;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function fixed(value, digits) {
    return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
  }

  /** "alarm", "warn" or "": the worst rule level the value is past. */
  function level(value, levels) {
    if (typeof value !== "number" || !Number.isFinite(value) || !levels) return "";
    let shown = "";
    for (const l of levels) {
      const past = l.direction === "above" ? value > l.threshold : value < l.threshold;
      if (!past) continue;
      if (SHOWN_AS[l.severity] === "alarm") return "alarm";
      shown = "warn";
    }
    return shown;
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    return new Date(ms).toLocaleString();
  }

  // ---- token ---------------------------------------------------------------------------
  function takeToken() {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get("token");
    if (fromUrl) {
      localStorage.setItem(TOKEN_KEY, fromUrl);
      params.delete("token");
      // Keep the token out of the address bar and history.
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
      return fromUrl;
    }
    return localStorage.getItem(TOKEN_KEY);
  }

  function showLogin(message) {
    $("login").hidden = false;
    $("packs-section").hidden = true;
    $("cases-section").hidden = true;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    $("login-error").textContent = message || "";
  }

  /** Too many failed logins from this address: keep the token, say when to try again. */
  function throttled(retryAfterMs) {
    if (socket) socket.close();
    socket = null;
    showLogin(`Too many failed logins from this address; try again in ${Math.ceil((retryAfterMs || 1000) / 1000)} s.`);
  }

  function signOut(message) {
    localStorage.removeItem(TOKEN_KEY);
    token = null;
    if (socket) socket.close();
    socket = null;
    showLogin(message);
  }

  /** A request with the token; a refused token signs out, a throttled one waits. */
  async function request(path, init) {
    const res = await fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init?.body ? { "content-type": "application/json" } : {}) },
    });
    if (res.status === 401) {
      signOut("That token was not accepted.");
      throw new Error("unauthorized");
    }
    if (res.status === 429) {
      throttled(Number(res.headers.get("retry-after")) * 1000);
      throw new Error("unauthorized");
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error || `HTTP ${res.status}`);
    }
    return res;
  }

  async function api(path, init) {
    return (await request(path, init)).json().catch(() => null);
  }

  // ---- packs ---------------------------------------------------------------------------
  function packCells(p) {
    const s = p.sample;
    const limits = meta?.limits[p.meta?.chemistry || meta.defaultChemistry] || {};
    const cells = s ? s.cellVoltages : [];
    const temps = s ? s.cellTemperatures : [];
    const minCell = cells.length ? Math.min(...cells) : null;
    const maxCell = cells.length ? Math.max(...cells) : null;
    const maxTemp = temps.length ? Math.max(...temps) : null;
    const minTemp = temps.length ? Math.min(...temps) : null;
    const hot = level(maxTemp, limits["temperature-max"]);
    const cold = level(minTemp, limits["temperature-min"]);
    const tempLevel = hot === "alarm" || cold === "alarm" ? "alarm" : hot || cold;
    return [
      { text: s ? fixed(s.soc, 1) : "–", cls: level(s?.soc, limits.soc), key: "soc" },
      { text: s ? fixed(s.packVoltage, 1) : "–", key: "voltage" },
      { text: s ? fixed(s.current, 1) : "–", key: "current" },
      { text: fixed(minCell, 3), cls: level(minCell, limits["cell-voltage-min"]), key: "min-cell" },
      { text: fixed(maxCell, 3), cls: level(maxCell, limits["cell-voltage-max"]), key: "max-cell" },
      { text: fixed(maxTemp, 1), cls: tempLevel, key: "max-temp" },
    ];
  }

  function renderPacks() {
    const body = $("packs").tBodies[0];
    const rows = [...packs.values()].sort((a, b) => a.siteId.localeCompare(b.siteId) || a.packId.localeCompare(b.packId));
    body.replaceChildren(
      ...rows.flatMap((p) => {
        const tr = el("tr");
        tr.dataset.pack = `${p.siteId}/${p.packId}`;
        const name = el("td");
        name.append(el("div", `${p.siteId} / ${p.packId}`));
        if (p.meta) name.append(el("div", `${p.meta.manufacturer} ${p.meta.model} · ${p.meta.chemistry} · SN ${p.meta.serial}`, "muted"));
        if (p.siteStatus && p.siteStatus.state === "offline") name.append(el("div", "site agent offline", "muted"));
        tr.append(name);
        for (const cell of packCells(p)) {
          const td = el("td", cell.text, `num ${cell.cls || ""}`.trim());
          td.dataset.field = cell.key;
          tr.append(td);
        }
        const alarms = el("td");
        const list = el("div", null, "alarm-list");
        for (const code of p.sample?.bmsAlarms || []) list.append(el("span", code, "alarm-tag"));
        alarms.append(list);
        tr.append(alarms);
        tr.append(el("td", p.receivedAt ? ago(p.receivedAt) : "no sample yet", "muted"));
        if (!p.receivedAt || Date.now() - p.receivedAt > STALE_MS) tr.classList.add("stale");
        const key = `${p.siteId}/${p.packId}`;
        tr.classList.add("pack-row");
        tr.setAttribute("aria-expanded", String(packHealth.has(key)));
        tr.addEventListener("click", () => toggleHealth(p.siteId, p.packId));
        return packHealth.has(key) ? [tr, healthRow(key)] : [tr];
      }),
    );
    $("packs-empty").hidden = rows.length > 0;
    $("packs-count").textContent = rows.length ? `${rows.length} pack${rows.length === 1 ? "" : "s"}` : "";
  }

  /** The pack's health (GET /api/packs/:siteId/:packId/health) under its row, as pack-health.js words it. */
  function healthRow(key) {
    const tr = el("tr", null, "health");
    tr.dataset.healthOf = key;
    const td = el("td");
    td.colSpan = 9;
    const h = packHealth.get(key);
    if (h.loading) td.append(el("p", "Loading the pack's health…", "muted"));
    else if (h.error) td.append(el("p", `No health figures: ${h.error}`, "muted"));
    else {
      const dl = el("dl", null, "evidence");
      for (const [label, text] of window.packHealthLines(h)) dl.append(el("dt", label), el("dd", text));
      td.append(dl);
    }
    tr.append(td);
    return tr;
  }

  async function loadHealth(siteId, packId) {
    const key = `${siteId}/${packId}`;
    let answer;
    try {
      answer = await api(`/api/packs/${encodeURIComponent(siteId)}/${encodeURIComponent(packId)}/health`);
    } catch (err) {
      answer = { error: err.message };
    }
    // Closed while it loaded: stays closed.
    if (packHealth.has(key)) {
      packHealth.set(key, answer);
      renderPacks();
    }
  }

  function toggleHealth(siteId, packId) {
    const key = `${siteId}/${packId}`;
    if (packHealth.has(key)) packHealth.delete(key);
    else {
      packHealth.set(key, { loading: true });
      loadHealth(siteId, packId);
    }
    renderPacks();
  }

  function subscribeSite(siteId) {
    if (!socket || subscribedSites.has(siteId)) return;
    subscribedSites.add(siteId);
    socket.emit("subscribe", { siteId }, (ack) => {
      if (!ack?.ok) subscribedSites.delete(siteId);
    });
  }

  async function refreshPacks() {
    const views = await api("/api/packs");
    for (const v of views) {
      const key = `${v.siteId}/${v.packId}`;
      const known = packs.get(key);
      // A live sample may be newer than the REST answer.
      if (known?.sample && v.sample && known.sample.ts > v.sample.ts) {
        known.meta = v.meta;
        known.siteStatus = v.siteStatus;
      } else packs.set(key, { ...v });
      subscribeSite(v.siteId);
    }
    renderPacks();
  }

  function onSample(sample) {
    const key = `${sample.siteId}/${sample.packId}`;
    const known = packs.get(key) || { siteId: sample.siteId, packId: sample.packId, meta: null, siteStatus: null };
    known.sample = sample;
    known.receivedAt = Date.now();
    packs.set(key, known);
    renderPacks();
  }

  // ---- cases ---------------------------------------------------------------------------
  function evidenceRow(c) {
    const tr = el("tr", null, "evidence");
    const td = el("td");
    td.colSpan = 7;
    const dl = el("dl", null, "evidence");
    const add = (label, value) => {
      if (value === null || value === undefined || value === "") return;
      dl.append(el("dt", label), el("dd", value));
    };
    const e = c.evidence;
    add("Detail", e.detail);
    add("Value", e.value);
    add("Threshold", e.threshold);
    if (typeof e.index === "number") add("Cell / sensor", `#${e.index + 1} (index ${e.index})`);
    add("Rule", c.ruleId);
    add("Assigned to", c.assignee);
    add("Last update", new Date(c.updatedAt).toLocaleString());
    if (c.clearedAt) add("Condition cleared", new Date(c.clearedAt).toLocaleString());
    if (c.reopenedCount) add("Reopened", `${c.reopenedCount} time(s)`);
    if (e.rulesFired?.length) {
      add(
        "Rules fired",
        e.rulesFired.map((f) => `${new Date(f.at).toLocaleTimeString()} ${f.ruleId} (${f.severity}${f.role === "case" ? "" : `, ${f.role}`})`).join(" · "),
      );
    }
    if (e.bmsAlarms?.length) add("BMS alarm codes", e.bmsAlarms.join(", "));
    const w = c.warranty;
    if (w) {
      add("Warranty", `${w.coverage} · repair looks ${w.suggestion}: ${w.reason}`);
      for (const x of w.exclusions) add(`Excluded: ${x.condition}`, `${x.detail}${x.exceedsTolerance ? " (beyond tolerance)" : ""}`);
      if (w.stress)
        add(
          "Operating window",
          `${fixed(w.stress.outsideSharePct, 1)} % of ${fixed(w.stress.operatingHours, 0)} h outside ${w.stress.window} (allowed ${w.stress.maxOutsideSharePct} %)`,
        );
      if (w.throughput)
        add(
          "Throughput",
          `${fixed(w.throughput.equivalentFullCycles, 1)} cycles · ${fixed(w.throughput.dischargedKWh, 1)} kWh${w.throughput.usedPct === null ? "" : ` · ${fixed(w.throughput.usedPct, 1)} % of warranted`}`,
        );
      if (w.soh) {
        const soh =
          w.soh.estimatePct === null
            ? `no estimate: ${w.soh.reason || "not enough data"}`
            : `${fixed(w.soh.estimatePct, 1)} ± ${fixed(w.soh.uncertaintyPct, 1)} % (${w.soh.windows} windows)`;
        const curve = w.soh.warrantedMinPct === null ? "" : ` · warranted ${fixed(w.soh.warrantedMinPct, 1)} % at ${fixed(w.soh.ageYears, 1)} years`;
        add("SOH vs end-of-life curve", `${soh}${curve} · cells ${w.soh.cellVerdict}`);
      }
      for (const line of w.evidence || []) add(`Evidence (${line.topic}, points ${line.points})`, line.text);
    }
    if (c.costTotals?.length)
      add("Costs", c.costTotals.map((t) => `${t.currency}: company ${fixed(t.company, 2)}, customer ${fixed(t.customer, 2)}`).join(" · "));
    if (c.spareParts?.length) add("Spare parts", c.spareParts.map((p) => `${p.quantity} × ${p.part} (BMS ${p.bmsVersion})`).join(" · "));
    if (e.sample) {
      const s = e.sample;
      add("Sample time", new Date(s.ts).toLocaleString());
      add("Sample", `SOC ${fixed(s.soc, 1)} % · ${fixed(s.packVoltage, 1)} V · ${fixed(s.current, 1)} A`);
      add("Cell voltages (V)", s.cellVoltages.map((v) => v.toFixed(3)).join("  "));
      add("Temperatures (°C)", s.cellTemperatures.map((v) => v.toFixed(1)).join("  "));
      if (s.bmsAlarms?.length) add("BMS alarms", s.bmsAlarms.join(", "));
    }
    if (e.meta) {
      const m = e.meta;
      add("Pack", `${m.manufacturer} ${m.model}, SN ${m.serial}, firmware ${m.bmsFirmware}, ${m.chemistry}, ${m.cellCount} cells, ${m.ratedCapacity} Ah`);
      if (m.warrantyStart || m.warrantyEnd) add("Warranty", `${m.warrantyStart || "?"} – ${m.warrantyEnd || "?"}`);
    }
    td.append(dl);
    tr.append(td);
    return tr;
  }

  async function setStatus(id, status) {
    try {
      await api(`/api/cases/${encodeURIComponent(id)}/status`, { method: "POST", body: JSON.stringify({ status }) });
      $("cases-error").textContent = "";
    } catch (err) {
      $("cases-error").textContent = `Could not update the case: ${err.message}`;
    }
    refreshCases();
  }

  function renderCases(cases) {
    const body = $("cases").tBodies[0];
    const rows = [];
    for (const c of cases) {
      const tr = el("tr", null, "case-row");
      tr.dataset.caseId = c.id;
      tr.setAttribute("aria-expanded", String(expandedCases.has(c.id)));
      const sev = el("td");
      sev.append(el("span", c.severity, `sev sev-${c.severity}`));
      const status = `${c.status}${c.clearedAt ? " (cleared)" : ""}${c.assignee ? ` · ${c.assignee}` : ""}`;
      tr.append(sev, el("td", `${c.siteId} / ${c.packId}`), el("td", c.title), el("td", status));
      tr.append(el("td", ago(c.openedAt), "muted"), el("td", c.occurrences, "num"));
      const actions = el("td");
      const box = el("div", null, "actions");
      for (const { status, label } of meta?.caseActions[c.status] || []) {
        const button = el("button", label);
        button.type = "button";
        button.dataset.status = status;
        button.addEventListener("click", (ev) => {
          ev.stopPropagation();
          setStatus(c.id, status);
        });
        box.append(button);
      }
      actions.append(box);
      tr.append(actions);
      tr.addEventListener("click", () => {
        if (expandedCases.has(c.id)) expandedCases.delete(c.id);
        else expandedCases.add(c.id);
        renderCases(cases);
      });
      rows.push(tr);
      if (expandedCases.has(c.id)) rows.push(evidenceRow(c));
    }
    body.replaceChildren(...rows);
    $("cases-empty").hidden = cases.length > 0;
    $("cases-count").textContent = cases.length ? `${cases.length} active` : "";
  }

  async function refreshCases() {
    try {
      renderCases(await api("/api/cases?status=active&limit=500"));
    } catch (err) {
      if (err.message !== "unauthorized") $("cases-error").textContent = `Could not load cases: ${err.message}`;
    }
  }

  /** Case events can come in bursts: refresh the list once per short pause. */
  function scheduleCasesRefresh() {
    clearTimeout(casesTimer);
    casesTimer = setTimeout(refreshCases, 150);
  }

  // ---- monthly follow-up ---------------------------------------------------------------
  /** The month's report (GET /api/reports/monthly, what the token may see) saved as a file. */
  async function downloadReport(format) {
    const month = $("report-month").value;
    $("report-error").textContent = "";
    try {
      const res = await request(`/api/reports/monthly?month=${encodeURIComponent(month)}&format=${format}`);
      const link = el("a");
      link.href = URL.createObjectURL(await res.blob());
      link.download = `follow-up-${month}.${format}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (err) {
      if (err.message !== "unauthorized") $("report-error").textContent = `Could not make the report: ${err.message}`;
    }
  }

  // ---- connection ----------------------------------------------------------------------
  function setConnection(online, text) {
    const pill = $("connection");
    pill.textContent = text;
    pill.className = `pill ${online ? "pill-on" : "pill-off"}`;
  }

  function start(newToken) {
    token = newToken;
    $("login").hidden = true;
    $("packs-section").hidden = false;
    $("cases-section").hidden = false;
    $("reports-section").hidden = false;
    $("sign-out").hidden = false;
    socket = io("/live", { auth: { token } });
    socket.on("connect", async () => {
      setConnection(true, "live");
      // Rooms are per connection: subscribe again after a reconnect.
      subscribedSites.clear();
      try {
        meta = await api("/api/meta");
        const me = await api("/api/me");
        $("who").textContent =
          `${me.name} · ${me.role}${me.customer ? ` · ${me.customer.name}` : me.sites ? ` · ${me.sites.length} site${me.sites.length === 1 ? "" : "s"}` : ""}`;
      } catch {
        return;
      }
      refreshPacks().catch(() => {});
      refreshCases();
    });
    socket.on("disconnect", () => setConnection(false, "reconnecting…"));
    socket.on("connect_error", (err) => {
      if (err && err.message === "unauthorized") signOut("That token was not accepted.");
      else if (err && err.message === "throttled") throttled(err.data?.retryAfterMs);
      else setConnection(false, "offline");
    });
    socket.on("sample", onSample);
    socket.on("case", scheduleCasesRefresh);
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    localStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    start(value);
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  // The month just ended (UTC), as the server's default.
  const today = new Date();
  $("report-month").value = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  $("report-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    downloadReport(ev.submitter?.dataset.format || "pdf");
  });

  // New sites appear over time; ages ("5 s ago") need refreshing too.
  setInterval(() => {
    if (!socket?.connected) return;
    refreshPacks().catch(() => {});
    for (const key of packHealth.keys()) {
      const p = packs.get(key);
      if (p) loadHealth(p.siteId, p.packId);
    }
  }, PACK_REFRESH_MS);
  setInterval(renderPacks, 5_000);

  const initial = takeToken();
  if (initial) start(initial);
  else showLogin("");
})();
