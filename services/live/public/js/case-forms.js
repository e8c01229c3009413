// The engineer's forms on a case: lifecycle moves, notes, assignment, cost lines, spare parts.
// Each posts to the case's REST API, then reloads the case; an error stays in its form.

import { post, seg } from "./api.js";
import { announce, el, h } from "./dom.js";
import { notice } from "./widgets.js";

const COST_CATEGORIES = ["labour", "spare-parts", "personnel-transport", "accommodation", "freight"];

export const field = (name, labelText, input) => h("label", { class: "field", dataset: { field: name } }, el("span", labelText), input);

/** A form that posts to the case, then reloads it; errors stay in the form. */
export function caseForm({ id, label, fields, submit, build, done }) {
  const error = el("p", null, "error");
  error.setAttribute("role", "alert");
  const form = h(
    "form",
    { class: "case-form", id },
    h("fieldset", {}, h("legend", {}, label), ...fields, h("button", { type: "submit", class: "primary" }, submit)),
    error,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await build(new FormData(form));
      error.textContent = "";
      form.reset();
      announce(`${label}: saved.`);
      done();
    } catch (err) {
      error.textContent = `Not saved: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export function workForms(c, ctx, reload) {
  const base = `/api/cases/${seg(c.id)}`;
  if (!ctx.canWork) return notice(`A ${ctx.me?.role || "viewer"} token reads cases; an engineer token works them.`);
  const moves = ctx.meta?.caseActions?.[c.status] || [];
  const moveNote = h("input", { name: "note", maxlength: "10000", placeholder: "optional: why" });
  const moveError = el("p", null, "error");
  moveError.setAttribute("role", "alert");
  const movesBox = h(
    "div",
    { class: "moves", id: "case-moves" },
    h("p", {}, `Status: ${c.status}. `, moves.length ? "Move it:" : "No move is left: closed cases reopen when their fault returns."),
    h(
      "div",
      { class: "actions" },
      moves.map((m) =>
        h(
          "button",
          {
            type: "button",
            dataset: { status: m.status },
            onclick: async () => {
              try {
                await post(`${base}/status`, { status: m.status, ...(moveNote.value.trim() ? { note: moveNote.value.trim() } : {}) });
                announce(`Case moved to ${m.status}.`);
                moveNote.value = "";
                reload();
              } catch (err) {
                moveError.textContent = `Could not move the case: ${err.message}`;
              }
            },
          },
          m.label,
        ),
      ),
    ),
    moves.length ? field("note", "Note with the move", moveNote) : null,
    moveError,
  );
  const note = caseForm({
    id: "note-form",
    label: "Add a note",
    fields: [field("text", "Note", h("textarea", { name: "text", required: true, maxlength: "10000", rows: "3" }))],
    submit: "Add note",
    build: (data) => post(`${base}/notes`, { text: String(data.get("text")) }),
    done: reload,
  });
  const assign = caseForm({
    id: "assign-form",
    label: "Assignment",
    fields: [
      field(
        "assignee",
        `Assigned to (now: ${c.assignee || "nobody"}); empty unassigns`,
        h("input", { name: "assignee", maxlength: "128", value: c.assignee || "" }),
      ),
    ],
    submit: "Assign",
    build: (data) => post(`${base}/assign`, { assignee: String(data.get("assignee")).trim() || null }),
    done: reload,
  });
  return h("div", { class: "forms" }, movesBox, note, assign);
}

/** A cost line: who bears it defaults from the warranty suggestion (free → company, chargeable → customer). */
export function costForm(c, reload) {
  const suggestion = c.warranty?.suggestion;
  const byDefault = suggestion === "free" ? "company" : suggestion === "chargeable" ? "customer" : null;
  return caseForm({
    id: "cost-form",
    label: "Add a cost line",
    fields: [
      field(
        "category",
        "Category",
        h(
          "select",
          { name: "category" },
          COST_CATEGORIES.map((k) => h("option", { value: k }, k)),
        ),
      ),
      field("description", "Description", h("input", { name: "description", maxlength: "500" })),
      field("quantity", "Quantity", h("input", { name: "quantity", type: "number", min: "0.01", step: "any", required: true, value: "1" })),
      field("unitPrice", "Unit price", h("input", { name: "unitPrice", type: "number", min: "0", step: "0.01", required: true })),
      field("currency", "Currency", h("input", { name: "currency", pattern: "[A-Z]{3}", maxlength: "3", value: "EUR", required: true })),
      field(
        "bearer",
        "Borne by",
        h(
          "select",
          { name: "bearer" },
          byDefault ? h("option", { value: "" }, `${byDefault} (the warranty suggests: ${suggestion})`) : null,
          h("option", { value: "company" }, "company"),
          h("option", { value: "customer" }, "customer"),
        ),
      ),
    ],
    submit: "Add cost line",
    build: (data) => {
      const bearer = String(data.get("bearer") || "");
      return post(`/api/cases/${seg(c.id)}/cost-lines`, {
        category: String(data.get("category")),
        description: String(data.get("description") || ""),
        quantity: Number(data.get("quantity")),
        unitPrice: Number(data.get("unitPrice")),
        currency: String(data.get("currency")).toUpperCase(),
        ...(bearer ? { bearer } : {}),
      });
    },
    done: reload,
  });
}

/** A spare part; the BMS version defaults to the pack's firmware in the evidence. */
export function partForm(c, reload) {
  const firmware = c.evidence.meta?.bmsFirmware;
  return caseForm({
    id: "part-form",
    label: "Request a spare part",
    fields: [
      field("part", "Part number", h("input", { name: "part", required: true, maxlength: "100" })),
      field("description", "Description", h("input", { name: "description", maxlength: "500" })),
      field("quantity", "Quantity", h("input", { name: "quantity", type: "number", min: "1", step: "1", required: true, value: "1" })),
      field(
        "bmsVersion",
        firmware ? `For BMS version (default ${firmware})` : "For BMS version (required: the firmware is not known)",
        h("input", { name: "bmsVersion", maxlength: "64", required: !firmware }),
      ),
    ],
    submit: "Request part",
    build: (data) => {
      const version = String(data.get("bmsVersion") || "").trim();
      return post(`/api/cases/${seg(c.id)}/spare-parts`, {
        part: String(data.get("part")),
        description: String(data.get("description") || ""),
        quantity: Number(data.get("quantity")),
        ...(version ? { bmsVersion: version } : {}),
      });
    },
    done: reload,
  });
}
