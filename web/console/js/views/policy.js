// Policy: the lines in force, edited with a check before saving and a diff
// of what would change (a dry run of the replacement).

import * as api from "../api.js";
import { h, notify } from "../dom.js";

const LINE = /^\s*(#.*|(p|g|g2)(\s*,\s*[^,\s]+){2,3}\s*)$/;

/** checkLines finds lines that are not policy lines (before any request). */
export function checkLines(lines) {
  const bad = [];
  lines.forEach((l, i) => { if (!LINE.test(l)) bad.push(`line ${i + 1}: ${l}`); });
  return bad;
}

export async function policyView(ctx) {
  const current = await api.data("GET", "/api/admin/policy");
  const text = h("textarea", { id: "policy-lines", "aria-label": "Policy lines", rows: 24, spellcheck: "false" });
  text.value = current.lines.join("\n");
  const out = h("div", { id: "policy-diff" });
  const save = h("button", { type: "button", class: "danger", disabled: true }, "Save");
  let checked = null; // the lines the last dry run accepted

  const lines = () => text.value.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  text.addEventListener("input", () => { save.disabled = true; checked = null; });

  async function preview() {
    const ls = lines();
    const bad = checkLines(ls);
    if (bad.length) {
      out.replaceChildren(h("p", { class: "bad" }, "Not policy lines:"), h("pre", {}, bad.join("\n")));
      return;
    }
    try {
      const p = await api.data("PUT", "/api/admin/policy?dry_run=true", { lines: ls });
      out.replaceChildren(
        h("p", {}, p.added.length + p.removed.length === 0 ? "No change." : `${p.added.length} line(s) added, ${p.removed.length} removed:`),
        h("pre", {}, p.removed.map((l) => h("div", { class: "diff-del" }, "- " + l)), p.added.map((l) => h("div", { class: "diff-add" }, "+ " + l))));
      checked = ls;
      save.disabled = p.added.length + p.removed.length === 0;
    } catch (err) {
      out.replaceChildren(h("p", { class: "bad", role: "alert" }, "Refused: " + err.message));
    }
  }

  save.addEventListener("click", async () => {
    if (!checked) return;
    try {
      const v = await api.data("PUT", "/api/admin/policy", { lines: checked });
      notify(`Policy version ${v.version} is in force on every replica.`);
      policyView(ctx);
    } catch (err) { out.replaceChildren(h("p", { class: "bad", role: "alert" }, "Refused: " + err.message)); }
  });

  ctx.mount(h("h1", {}, "Policy"),
    h("p", { class: "muted" }, `Version ${current.version} (0: the configured policy). Casbin lines: p, <role>, <object>, <action> and g, <role>, <role>.`),
    text, h("div", { class: "row" }, h("button", { type: "button", class: "primary", onclick: preview }, "Check changes"), save), out,
    h("details", {}, h("summary", {}, `${(current.derived || []).length} lines derived from the resources (read-only)`),
      h("p", { class: "muted" }, "Each resource's group, from the resources file: they change with it, never through this editor."),
      h("pre", { id: "policy-derived" }, (current.derived || []).join("\n"))));
}
