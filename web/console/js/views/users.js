// Users: search, level changes (only to levels the caller may grant),
// deletion, wallet credit and debit with a reason, and a user's sessions.

import * as api from "../api.js";
import { h, notify, table, formatTime, confirmAction, pager } from "../dom.js";

const LEVELS = ["DBA", "SystemAdmin", "Admin", "PowerUser", "User", "Guest"];

export async function usersView(ctx) {
  const manage = ctx.can("users", "manage");
  const search = h("input", { "aria-label": "Username contains", placeholder: "username contains…" });
  const level = h("select", { "aria-label": "Level" }, h("option", { value: "" }, "any level"),
    LEVELS.map((n, i) => h("option", { value: i }, `${i} ${n}`)));
  const results = h("div", { id: "results" });
  const detail = h("div", {});
  const list = pager(results, (after) => {
    if (manage) {
      const q = new URLSearchParams({ find: "20" });
      if (search.value) q.set("username:contains", search.value);
      if (level.value) q.set("level", level.value);
      if (after) q.set("after", after);
      return api.call("GET", "/api/admin/users?" + q);
    }
    // An Admin without user management finds users through profiles.
    const data = { find: 20 };
    if (search.value) data.username = { contains: search.value };
    if (level.value) data.level = { equals: Number(level.value) };
    if (after) data.after = after;
    return api.call("POST", "/api/profile", { operation: "query", data });
  }, (users) => table([
    { label: "Username", key: "username" }, { label: "Level", render: (u) => `${u.level} ${LEVELS[u.level] || ""}` },
    { label: "Balance", key: "balance" }, { label: "Created", render: (u) => formatTime(u.created_at) }, { label: "Id", key: "_id", mono: true },
  ], users, openUser));
  const load = () => list.refresh();

  async function openUser(u) {
    const below = u.level > ctx.me.level; // only users below the caller
    const parts = [h("h2", {}, `${u.username} (level ${u.level} ${LEVELS[u.level] || ""})`)];
    if (manage && below) {
      const grantable = LEVELS.map((n, i) => i).filter((i) => i > ctx.me.level && i !== u.level);
      const to = h("select", { "aria-label": "New level" }, grantable.map((i) => h("option", { value: i }, `${i} ${LEVELS[i]}`)));
      parts.push(h("div", { class: "row" }, h("div", {}, h("label", {}, "Level"), to),
        h("button", {
          type: "button", onclick: async () => {
            try {
              const updated = await api.data("PUT", `/api/admin/users/${u._id}/level`, { level: Number(to.value) });
              notify(`${u.username} is now level ${updated.level}; their sessions ended.`);
              load(); openUser(updated);
            } catch (err) { notify(err.message, "error"); }
          },
        }, "Change level"),
        h("button", {
          type: "button", class: "danger", onclick: async () => {
            if (!(await confirmAction(`Delete the user ${u.username} and end their sessions?`, u.username))) return;
            try {
              await api.data("DELETE", `/api/admin/users/${u._id}`);
              notify(`${u.username} deleted.`);
              detail.replaceChildren(); load();
            } catch (err) { notify(err.message, "error"); }
          },
        }, "Delete user")));
    }
    if (ctx.can("users", "balance")) {
      const delta = h("input", { type: "number", step: "1", "aria-label": "Amount", placeholder: "+100 or -100" });
      const reason = h("input", { "aria-label": "Reason", placeholder: "reason (audited)", maxlength: 200 });
      parts.push(h("div", { class: "row" }, h("div", {}, h("label", {}, "Credit or debit"), delta), reason,
        h("button", {
          type: "button", onclick: async () => {
            const n = Number(delta.value);
            if (!Number.isInteger(n) || n === 0) { notify("The amount must be a whole number other than 0.", "error"); return; }
            if (!reason.value.trim()) { notify("Give a reason: it is audited.", "error"); return; }
            try {
              const res = await api.data("POST", `/api/admin/users/${u._id}/balance`, { delta: n, reason: reason.value.trim() });
              notify(`Balance of ${u.username}: ${res.balance ?? "changed"}.`);
              delta.value = ""; reason.value = "";
              load();
            } catch (err) { notify(err.message, "error"); }
          },
        }, "Apply")));
    }
    if (manage && below) {
      const box = h("div", {});
      parts.push(h("h2", {}, "Sessions"), box);
      const showSessions = async () => {
        try {
          const list = await api.data("GET", `/api/admin/users/${u._id}/sessions`);
          box.replaceChildren(table([
            { label: "Kind", key: "kind" }, { label: "Browser", key: "browser" }, { label: "User agent", key: "user_agent" },
            { label: "IP", key: "ip" }, { label: "Last seen", render: (s) => formatTime(s.last_seen) }, { label: "Expires", render: (s) => formatTime(s.expires_at) },
          ], list), h("div", { class: "row" }, h("button", {
            type: "button", class: "danger", disabled: list.length === 0, onclick: async () => {
              try {
                const res = await api.data("DELETE", `/api/admin/users/${u._id}/sessions`);
                notify(`${res.revoked} session(s) of ${u.username} ended.`);
                showSessions();
              } catch (err) { notify(err.message, "error"); }
            },
          }, "End all sessions")));
        } catch (err) { box.replaceChildren(h("p", { class: "bad" }, err.message)); }
      };
      showSessions();
    }
    if (!below) parts.push(h("p", { class: "muted" }, "This user's level is at or above yours: you cannot act on them."));
    detail.replaceChildren(h("div", { class: "card" }, ...parts));
  }

  const find = () => list.reload();
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") find(); });
  ctx.mount(h("h1", {}, "Users"),
    h("div", { class: "row" }, search, level, h("button", { type: "button", class: "primary", onclick: find }, "Search")),
    results, detail);
  await list.reload();
}
