// BMS console: plain ES modules, no build step. Routes: #/ fleet, #/pack/SITE/PACK, #/case/ID, #/cases.

import { api, onSessionRefused, takeToken, useToken } from "./api.js";
import { renderCase } from "./case-view.js";
import { renderCases } from "./cases-view.js";
import { renderFleet } from "./fleet-view.js";
import * as live from "./live.js";
import { renderPack } from "./pack-view.js";
import { parseRoute } from "./router.js";

const $ = (id) => document.getElementById(id);
const ctx = { meta: null, me: null, canWork: false, on: live.on, watchPack: live.watchPack };
let leave = () => {};

function showLogin(message) {
  leave();
  leave = () => {};
  $("page").replaceChildren();
  $("login").hidden = false;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("login-error").textContent = message || "";
}

function signOut(message, keepToken = false) {
  if (!keepToken) useToken(null);
  live.disconnect();
  showLogin(message);
}

function route() {
  if (!ctx.meta) return;
  leave();
  const { name, params } = parseRoute(location.hash);
  const page = $("page");
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (name === "cases" || name === "case" ? "cases" : "fleet")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const views = { fleet: renderFleet, pack: renderPack, case: renderCase, cases: renderCases };
  leave = views[name](page, { ...params, ctx }) || (() => {});
  // Keyboard and screen-reader users land on the new page's heading.
  page.querySelector("h1")?.focus({ preventScroll: true });
}

async function start(token) {
  useToken(token);
  $("login").hidden = true;
  $("sign-out").hidden = false;
  live.connect(token, signOut);
  try {
    [ctx.meta, ctx.me] = await Promise.all([api("/api/meta"), api("/api/me")]);
  } catch {
    return;
  }
  ctx.canWork = ctx.me.role === "engineer" || ctx.me.role === "admin";
  const scope = ctx.me.customer ? ` · ${ctx.me.customer.name}` : ctx.me.sites ? ` · ${ctx.me.sites.length} site${ctx.me.sites.length === 1 ? "" : "s"}` : "";
  $("who").textContent = `${ctx.me.name} · ${ctx.me.role}${scope}`;
  $("nav").hidden = false;
  route();
}

live.on("status", (connected) => {
  const pill = $("connection");
  pill.textContent = connected ? "live" : "reconnecting…";
  pill.className = `pill ${connected ? "pill-on" : "pill-off"}`;
});
onSessionRefused(signOut);
window.addEventListener("hashchange", route);
$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const value = $("token-input").value.trim();
  if (!value) return;
  $("token-input").value = "";
  start(value);
});
$("sign-out").addEventListener("click", () => signOut(""));

const initial = takeToken();
if (initial) start(initial);
else showLogin("");
