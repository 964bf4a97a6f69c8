// Audit trail: privileged acts filtered by actor, action and time, newest
// first, paged.

import * as api from "../api.js";
import { h, table, formatTime, pager } from "../dom.js";

export async function auditView(ctx) {
  const actor = h("input", { "aria-label": "Actor id", placeholder: "actor id" });
  const action = h("input", { "aria-label": "Action", placeholder: "action, e.g. set_level", list: "audit-actions" });
  const since = h("input", { type: "datetime-local", "aria-label": "Since" });
  const until = h("input", { type: "datetime-local", "aria-label": "Until" });
  const results = h("div", { id: "results" });
  const list = pager(results, (after) => {
    const q = new URLSearchParams({ find: "25" });
    if (actor.value.trim()) q.set("actor", actor.value.trim());
    if (action.value.trim()) q.set("action", action.value.trim());
    if (since.value) q.set("since", new Date(since.value).toISOString());
    if (until.value) q.set("until", new Date(until.value).toISOString());
    if (after) q.set("after", after);
    return api.call("GET", "/api/admin/audit?" + q);
  }, (entries) => table([
    { label: "When", render: (e) => formatTime(e.created_at) }, { label: "Actor", render: (e) => `${e.actor_username || ""} (${e.actor_level ?? ""})` },
    { label: "Action", key: "action" }, { label: "Target", key: "target", mono: true }, { label: "IP", key: "ip" },
    { label: "Detail", render: (e) => JSON.stringify(e.detail || {}) },
  ], entries), ["← Newer", "Older →"]);

  const find = () => list.reload();
  ctx.mount(h("h1", {}, "Audit trail"),
    h("datalist", { id: "audit-actions" }, ["set_level", "delete_user", "drop_collection", "replace_policy", "balance", "revoke_sessions", "backup", "restore", "bootstrap", "create_user", "reset_password"].map((a) => h("option", { value: a }))),
    h("div", { class: "row" }, actor, action, h("div", {}, h("label", {}, "Since"), since), h("div", {}, h("label", {}, "Until"), until),
      h("button", { type: "button", class: "primary", onclick: find }, "Filter")),
    results);
  await list.reload();
}
