// Forms generated from the JSON Schemas of the API description: one input
// per field, checked before sending (type, required, enum, pattern, range,
// length), and the server's field error shown at its field.

import { h, hideNotice } from "./dom.js";

/** resolve follows a local $ref of the document. */
export function resolve(doc, s) {
  if (s && s.$ref) {
    const name = decodeURIComponent(s.$ref.replace("#/components/schemas/", ""));
    return doc.components.schemas[name];
  }
  return s;
}

/** stringList: an array of strings that also accepts a single string. */
function stringList(s) {
  if (s.anyOf) s = s.anyOf.find((x) => x.type === "array") || s;
  return s.type === "array" && s.items && s.items.type === "string" ? s : null;
}

/**
 * buildForm renders a form for a write schema. values prefills it (an
 * edit); onSubmit receives the data to send — for an edit, only the fields
 * that changed.
 */
export function buildForm(doc, schema, { values, submitLabel, onSubmit, idField }) {
  const fields = []; // {path, schema, input, box, read()}
  const formError = h("p", { class: "form-error", role: "alert" });
  const body = h("div", {});
  addFields(body, schema, "", values || {});

  function addFields(parent, s, prefix, vals) {
    const props = s.properties || {};
    const required = new Set(s.required || []);
    // Required fields first, then the others, each in name order.
    const names = Object.keys(props).sort((a, b) => Number(required.has(b)) - Number(required.has(a)) || a.localeCompare(b));
    for (const name of names) {
      if (name === idField) continue;
      const fs = resolve(doc, props[name]);
      const path = prefix + name;
      const value = vals ? vals[name] : undefined;
      if (fs.type === "object" && fs.properties) {
        const set = h("fieldset", {}, h("legend", {}, path));
        parent.append(set);
        addFields(set, fs, path + ".", value || {});
        continue;
      }
      parent.append(field(path, fs, required.has(name), value));
    }
  }

  function field(path, s, required, value) {
    const id = "f-" + path.replace(/\W/g, "_");
    const list = stringList(s);
    let input;
    if (list) {
      input = h("textarea", { id, name: path, rows: 3 });
      input.value = Array.isArray(value) ? value.join("\n") : value || "";
    } else if (s.enum) {
      input = h("select", { id, name: path },
        h("option", { value: "" }, required ? "— choose —" : "(none)"),
        s.enum.map((v) => h("option", { value: v }, v)));
      input.value = value ?? "";
    } else if (s.type === "boolean") {
      input = h("input", { id, name: path, type: "checkbox", checked: Boolean(value) });
    } else if (s.type === "integer" || s.type === "number") {
      input = h("input", { id, name: path, type: "number", step: s.type === "integer" ? "1" : "any", min: s.minimum, max: s.maximum });
      input.value = value ?? "";
    } else if (s.type === "array" || s.type === "object") {
      input = h("textarea", { id, name: path, rows: 3, placeholder: "JSON" });
      input.value = value === undefined ? "" : JSON.stringify(value, null, 1);
    } else {
      input = h("input", { id, name: path, type: s.format === "date" ? "date" : "text", maxlength: s.maxLength });
      input.value = value ?? "";
    }
    const error = h("div", { class: "error", id: id + "-error" });
    input.setAttribute("aria-describedby", id + "-error");
    const hint = [s.type, s.pattern ? `pattern ${s.pattern}` : "", s.maxLength ? `≤ ${s.maxLength} chars` : "",
      s.minimum !== undefined ? `≥ ${s.minimum}` : "", s.maximum !== undefined ? `≤ ${s.maximum}` : "",
      list ? "one per line" : ""].filter(Boolean).join(" · ");
    const box = h("div", { class: "field", dataset: { path } },
      h("label", { for: id }, path, required ? " *" : ""), input, h("div", { class: "hint" }, hint), error);
    const original = snapshot();
    fields.push({ path, schema: s, list, required, input, box, error, original });
    function snapshot() { return input.type === "checkbox" ? String(input.checked) : input.value; }
    return box;
  }

  // read returns [value, present, problem] for one field.
  function read(f) {
    const { input, schema: s, list } = f;
    if (input.type === "checkbox") return [input.checked, true, ""];
    const text = input.value;
    if (text.trim() === "") return [undefined, false, f.required ? "required" : ""];
    if (list) return [text.split("\n").map((x) => x.trim()).filter(Boolean), true, ""];
    if (s.type === "integer" || s.type === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || (s.type === "integer" && !Number.isInteger(n))) return [undefined, true, `must be ${s.type === "integer" ? "a whole number" : "a number"}`];
      if (s.minimum !== undefined && n < s.minimum) return [n, true, `must be at least ${s.minimum}`];
      if (s.maximum !== undefined && n > s.maximum) return [n, true, `must be at most ${s.maximum}`];
      return [n, true, ""];
    }
    if (s.type === "array" || s.type === "object") {
      try { return [JSON.parse(text), true, ""]; } catch { return [undefined, true, "must be JSON"]; }
    }
    if (s.enum && !s.enum.includes(text)) return [text, true, "must be one of " + s.enum.join(", ")];
    const chars = [...text].length;
    if (s.minLength !== undefined && chars < s.minLength) return [text, true, `must be at least ${s.minLength} characters`];
    if (s.maxLength !== undefined && chars > s.maxLength) return [text, true, `must be at most ${s.maxLength} characters`];
    const patterns = s.pattern ? [s.pattern] : (s.allOf || []).map((x) => x.pattern).filter(Boolean);
    for (const p of patterns) {
      let re = null;
      try { re = new RegExp(p, "u"); } catch { /* a pattern this browser cannot read: the server checks it */ }
      if (re && !re.test(text)) return [text, true, "does not match " + p];
    }
    return [text, true, ""];
  }

  function setPath(out, path, v) {
    const parts = path.split(".");
    let o = out;
    for (const p of parts.slice(0, -1)) o = o[p] = o[p] || {};
    o[parts[parts.length - 1]] = v;
  }

  /** showError marks a field (or the form) with a message. */
  function showError(path, message) {
    hideNotice(); // an earlier notice must not cover the error
    const f = fields.find((x) => x.path === path);
    if (!f) { formError.textContent = message; return; }
    f.box.classList.add("invalid");
    f.error.textContent = message;
  }

  function clearErrors() {
    formError.textContent = "";
    for (const f of fields) { f.box.classList.remove("invalid"); f.error.textContent = ""; }
  }

  const submit = h("button", { class: "primary", type: "submit" }, submitLabel || "Save");
  const form = h("form", { novalidate: true }, body, formError, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const out = {};
    let bad = false;
    for (const f of fields) {
      const [v, present, problem] = read(f);
      if (problem) { showError(f.path, f.path + " " + problem); bad = true; continue; }
      const changed = (f.input.type === "checkbox" ? String(f.input.checked) : f.input.value) !== f.original;
      if (values && !changed) continue; // an edit sends what changed
      if (present) setPath(out, f.path, v);
    }
    if (bad) return;
    submit.disabled = true;
    try {
      await onSubmit(out);
    } catch (err) {
      const path = fieldOf(err.message || "", fields.map((f) => f.path));
      showError(path, err.message || "refused");
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * fieldOf finds the field a server message names: the longest field path
 * that appears in it as a word.
 */
export function fieldOf(message, paths) {
  let best = "";
  for (const p of paths) {
    const re = new RegExp("(^|[\\s<\"'])" + p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "($|[\\s>\"':,])");
    if (re.test(message) && p.length > best.length) best = p;
  }
  return best;
}
