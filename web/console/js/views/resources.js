// Resources: every resource of the API description with its schema; its
// documents filtered, sorted and paged; create and edit through forms made
// from the schema; delete with a confirmation.

import * as api from "../api.js";
import { fileFields, filesSection } from "../files.js";
import { h, notify, table, confirmAction, pager, formatTime, userNames } from "../dom.js";
import { buildForm } from "../form.js";
import { follow } from "../live.js";

/** resourceNames lists the resources the API description holds. */
export function resourceNames(doc) {
  return Object.entries(doc.components.schemas)
    .filter(([name, s]) => s["x-resource"] === name)
    .map(([name]) => name)
    .sort();
}

function rights(ctx, name) {
  const can = (a) => ctx.can(name, a);
  return {
    query: can("query") || can("query_own"),
    create: can("create"),
    update: can("update") || can("update_own"),
    del: can("delete") || can("delete_own"),
    drop: ctx.can("collections", "drop"),
  };
}

export async function resourcesView(ctx, args) {
  const doc = await ctx.doc();
  const names = resourceNames(doc);
  const name = names.includes(args[0]) ? args[0] : names[0];
  const side = h("ul", { class: "list-plain", "aria-label": "Resources" },
    names.map((n) => h("li", {}, h("a", { href: "#/resources/" + n, class: n === name ? "active" : null }, n))));
  const pane = h("div", {});
  ctx.mount(h("h1", {}, "Resources"), h("div", { class: "split" }, h("div", {}, side), pane));
  if (name) await resourcePane(ctx, doc, name, pane, args[1]);
}

async function resourcePane(ctx, doc, name, pane, openId) {
  const schemas = doc.components.schemas;
  const stored = schemas[name];
  const query = schemas[name + ".query"];
  const r = rights(ctx, name);
  const ops = new Set((schemas[name + ".operation"].oneOf || []).map((v) => v.title));
  const fieldPaths = Object.keys(query.properties).filter((k) => !["find", "sort", "after"].includes(k)).sort();
  // The columns a person reads a row by: its name first, then the other
  // plain fields, the id last; times as a person reads them.
  const plain = Object.keys(stored.properties).filter((k) => k !== "_id" && !["object", "array"].includes(stored.properties[k].type) && !stored.properties[k]["x-file"]);
  const first = ["name", "username", "title"].filter((k) => plain.includes(k));
  const columns = [...first, ...plain.filter((k) => !first.includes(k)).sort()].slice(0, 5).concat("_id");
  const userCell = userNames(async (id) => (await api.data("GET", "/api/profile/" + encodeURIComponent(id))).username);
  const isUser = (c) => c === "owner" || c === "user" || c === "recipient";
  const isTime = (c) => c === "created_at" || c === "updated_at" || (stored.properties[c] && stored.properties[c].format === "date-time");

  // Filters, sort and paging.
  const filterField = h("select", { "aria-label": "Filter field" }, h("option", { value: "" }, "(no filter)"), fieldPaths.map((p) => h("option", { value: p }, p)));
  const filterOp = h("select", { "aria-label": "Qualifier" }, h("option", { value: "equals" }, "equals"), h("option", { value: "contains" }, "contains"));
  const filterValue = h("input", { "aria-label": "Filter value", placeholder: "value" });
  const sortBy = h("select", { "aria-label": "Sort" }, (query.properties.sort.enum || []).map((k) => h("option", { value: k }, k)));
  sortBy.value = "-created_at";
  const pageSize = h("select", { "aria-label": "Page size" }, [10, 20, 50, 100].map((n) => h("option", { value: n }, n + " per page")));
  pageSize.value = "20";
  const results = h("div", { id: "results" });
  const detail = h("div", {});
  const list = pager(results,
    (after) => api.call("POST", "/api/" + encodeURIComponent(name), { operation: "query", data: queryData(after) }),
    (docs) => table(columns.map((c) => isTime(c) ? { label: c, render: (d) => formatTime(d[c]) }
      : isUser(c) ? { label: c, render: (d) => userCell(d[c]) } : { label: c, key: c, mono: c === "_id" }), docs, (d) => openDoc(d)));
  const load = () => list.refresh();
  const search = () => list.reload();

  function queryData(after) {
    const data = { find: Number(pageSize.value), sort: sortBy.value };
    if (after) data.after = after;
    const f = filterField.value;
    if (f) {
      const leaf = query.properties[f].properties.equals;
      let v = filterValue.value;
      if (filterOp.value === "equals") {
        if (leaf.type === "integer" || leaf.type === "number") v = Number(v);
        if (leaf.type === "boolean") v = v === "true";
      }
      data[f] = { [filterOp.value]: v };
    }
    return data;
  }

  function openDoc(d) {
    const actions = h("div", { class: "row" });
    if (r.update && ops.has("update")) actions.append(h("button", { type: "button", onclick: () => editDoc(d) }, "Edit"));
    if (r.del && ops.has("delete")) actions.append(h("button", { type: "button", class: "danger", onclick: () => deleteDoc(d) }, "Delete"));
    show(h("div", { class: "card" }, h("h2", {}, name + " " + d._id), h("pre", { class: "mono" }, JSON.stringify(d, null, 2)), ...fileSections(d, openDoc), actions));
  }

  // fileSections are the document's file fields, each with its files and
  // an upload; after a change, then(doc) shows the document again.
  function fileSections(d, then) {
    return fileFields(stored).map(([field, spec]) => filesSection(name, d, field, spec, r.update && ops.has("update"),
      (updated) => { then(updated); load(); }));
  }

  // show puts a document, or a form, above the list and in sight.
  function show(card) {
    detail.replaceChildren(card);
    detail.scrollIntoView({ block: "start" });
  }

  function editDoc(d) {
    const form = buildForm(doc, schemas[name + ".update"], {
      values: d, idField: "_id", submitLabel: "Save changes",
      onSubmit: async (changes) => {
        if (Object.keys(changes).length === 0) { notify("Nothing changed."); return; }
        const updated = await api.data("POST", "/api/" + encodeURIComponent(name), { operation: "update", data: { _id: d._id, ...changes } });
        notify(`${name} ${d._id} saved.`);
        openDoc(updated);
        load();
      },
    });
    show(h("div", { class: "card" }, h("h2", {}, "Edit " + name + " " + d._id), form, ...fileSections(d, editDoc)));
  }

  async function deleteDoc(d) {
    if (!(await confirmAction(`Delete ${name} ${d._id}? This cannot be undone.`, "delete"))) return;
    try {
      await api.data("POST", "/api/" + encodeURIComponent(name), { operation: "delete", data: { _id: d._id } });
      notify(`${name} ${d._id} deleted.`);
      detail.replaceChildren();
      load();
    } catch (err) { notify(err.message, "error"); }
  }

  function createDoc() {
    const form = buildForm(doc, schemas[name + ".create"], {
      submitLabel: "Create",
      onSubmit: async (data) => {
        const created = await api.data("POST", "/api/" + encodeURIComponent(name), { operation: "create", data });
        notify(`${name} ${created._id} created.`);
        openDoc(created);
        search();
      },
    });
    show(h("div", { class: "card" }, h("h2", {}, "New " + name), form));
  }

  async function dropData() {
    if (!(await confirmAction(`Drop every ${name} document? This cannot be undone.`, name))) return;
    try {
      const res = await api.data("DELETE", `/api/admin/collections/${encodeURIComponent(name)}?confirm=${encodeURIComponent(name)}`);
      notify(`Every ${res.dropped || name} document is dropped.`);
      search();
    } catch (err) { notify(err.message, "error"); }
  }

  const liveState = h("span", { class: "muted", id: "live", "aria-live": "polite" }, "");
  const tools = h("div", { class: "row" },
    h("div", {}, h("label", {}, "Filter"), filterField), filterOp, filterValue,
    h("div", {}, h("label", {}, "Sort"), sortBy), pageSize,
    h("button", { type: "button", class: "primary", onclick: search }, "Search"),
    r.create && ops.has("create") ? h("button", { type: "button", onclick: createDoc }, "New " + name) : null,
    // Accounts and the ledger are never dropped (the API refuses it).
    r.drop && !["profile", "transaction_record"].includes(name) ? h("button", { type: "button", class: "danger", onclick: dropData }, "Drop data") : null,
    liveState);
  // The rules of a field are those of what is written: answers carry what
  // is stored, which may predate a rule.
  const written = (schemas[name + ".create"] || schemas[name + ".update"] || stored).properties;
  const rulesOf = (f, s) => { const w = written[f] || s; return w.anyOf && w.anyOf[0].type ? w.anyOf[0] : w; };
  const fieldsTable = table([{ label: "Field", key: "f" }, { label: "Type", key: "t" }, { label: "Rules", key: "r" }],
    Object.entries(stored.properties).sort().map(([f, s]) => {
      const w = rulesOf(f, s);
      return {
        f, t: s.type || (s.anyOf ? "list" : ""),
        r: [s.readOnly ? "read-only" : "", s["x-private"] ? "private" : "", (stored.required || []).includes(f) ? "required" : "",
          s.enum ? "one of " + s.enum.join(", ") : "", w.pattern ? "pattern " + w.pattern : "", w.maxLength ? "≤ " + w.maxLength + " chars" : ""].filter(Boolean).join(" · "),
      };
    }));
  pane.replaceChildren(
    h("h2", {}, name),
    h("details", {}, h("summary", {}, "Schema"), fieldsTable),
    r.query ? tools : h("p", { class: "muted" }, "You may not query " + name + "."),
    detail, results);
  if (r.query) {
    await load();
    // The page in sight follows every change of the resource as it
    // happens, as the caller's own query would show it.
    follow(name, load, (state) => { liveState.textContent = state; });
  }
  if (openId) {
    try { openDoc(await api.data("GET", `/api/${encodeURIComponent(name)}/${encodeURIComponent(openId)}`)); } catch (err) { notify(err.message, "error"); }
  }
}
