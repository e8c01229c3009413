// Building the page from data: text only (textContent, never innerHTML), so a hostile pack or case
// field cannot inject markup.

/** An element with text and a class. */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** An element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/** A titled card section. */
export function card(title, ...children) {
  const id = `h-${Math.random().toString(36).slice(2, 9)}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** A definition list from [label, value] pairs; empty values are left out. */
export function facts(pairs, className = "facts") {
  const dl = el("dl", null, className);
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("dt", label), value instanceof Node ? h("dd", {}, value) : el("dd", value));
  }
  return dl;
}

/** Tells screen readers what changed (a saved note, a page of results). */
export function announce(text) {
  const node = document.getElementById("announce");
  if (node) node.textContent = text;
}

/**
 * Notes what the engineer has typed but not sent in `root` (fields that differ from their defaults,
 * and a form's error), so a redraw when the case changes does not wipe it. Returns the function that
 * puts it back into the redrawn `root`. Fields are found by their nearest ancestor with an id and
 * their name.
 */
export function keepEdits(root) {
  const key = (field) => `${field.parentElement?.closest("[id]")?.id ?? ""}/${field.name}`;
  const edited = [];
  for (const field of root.querySelectorAll("input[name], textarea[name], select[name]")) {
    const changed =
      field instanceof HTMLSelectElement
        ? [...field.options].some((o) => o.selected !== o.defaultSelected)
        : field.type === "checkbox" || field.type === "radio"
          ? field.checked !== field.defaultChecked
          : field.value !== field.defaultValue;
    if (changed) edited.push({ key: key(field), value: field.value, checked: field.checked });
  }
  const errors = [...root.querySelectorAll("form[id] > .error")].filter((e) => e.textContent).map((e) => [e.parentElement.id, e.textContent]);
  const focused = root.contains(document.activeElement) && document.activeElement?.name ? key(document.activeElement) : null;
  return (next) => {
    const fields = new Map([...next.querySelectorAll("input[name], textarea[name], select[name]")].map((f) => [key(f), f]));
    for (const { key: k, value, checked } of edited) {
      const field = fields.get(k);
      if (!field) continue;
      if (field.type === "checkbox" || field.type === "radio") field.checked = checked;
      else field.value = value;
    }
    for (const [formId, text] of errors) {
      const error = next.querySelector(`form[id="${CSS.escape(formId)}"] > .error`);
      if (error) error.textContent = text;
    }
    if (focused) fields.get(focused)?.focus();
  };
}
