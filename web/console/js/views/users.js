// Users: search, a new user (with a password, or invited by mail), level
// changes (only to levels the caller may grant), a password reset,
// deletion, wallet credit and debit with a reason, and a user's sessions.

import * as api from "../api.js";
import { h, notify, table, formatTime, confirmAction, pager } from "../dom.js";
import { seal } from "../seal.js";

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
    ...(manage ? [{ label: "Email", render: (u) => u.email ? `${u.email}${u.email_verified ? " ✓" : ""}` : "" },
      { label: "2FA", render: (u) => (u.mfa && u.mfa.totp ? "on" : "off") }] : []),
  ], users, openUser));
  const load = () => list.refresh();

  function newUserForm() {
    const grantable = LEVELS.map((n, i) => i).filter((i) => i > ctx.me.level && i < 5);
    const name = h("input", { id: "nu-username", autocomplete: "off", pattern: "[a-z0-9_]{4,32}", required: true });
    const email = h("input", { id: "nu-email", type: "email", autocomplete: "off" });
    const lvl = h("select", { id: "nu-level" }, grantable.map((i) => h("option", { value: i, selected: i === 4 }, `${i} ${LEVELS[i]}`)));
    const pass = h("input", { id: "nu-password", type: "password", autocomplete: "new-password" });
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "card" }, h("h2", {}, "New user"),
      h("div", { class: "field" }, h("label", { for: "nu-username" }, "Username"), name, h("div", { class: "hint" }, "4–32 of a–z, 0–9 and _")),
      h("div", { class: "field" }, h("label", { for: "nu-email" }, "Email"), email),
      h("div", { class: "field" }, h("label", { for: "nu-level" }, "Level"), lvl),
      h("div", { class: "field" }, h("label", { for: "nu-password" }, "Password"), pass,
        h("div", { class: "hint" }, "Leave it empty to invite the user by mail: a link lets them choose one.")),
      error, h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Create user"),
        h("button", { type: "button", onclick: () => detail.replaceChildren() }, "Cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const fields = { username: name.value.trim(), level: Number(lvl.value) };
      if (email.value.trim()) fields.email = email.value.trim();
      if (pass.value) fields.password = pass.value;
      try {
        const u = await api.data("POST", "/api/admin/users", { payload: await seal(fields) });
        notify(fields.password ? `${u.username} is made.` : `${u.username} is made; an invitation went to ${u.email}.`);
        load(); openUser(u);
      } catch (err) {
        error.textContent = err.status === 503 ? "No mail server is configured to invite the user: give a password." : err.message;
      } finally { pass.value = ""; }
    });
    detail.replaceChildren(form);
    name.focus();
  }

  async function openUser(u) {
    const below = u.level > ctx.me.level; // only users below the caller
    const parts = [h("h2", {}, `${u.username} (level ${u.level} ${LEVELS[u.level] || ""})`)];
    if (manage) {
      parts.push(h("p", { id: "user-state" }, u.email ? `${u.email} · ${u.email_verified ? "verified" : "not verified"}` : "no email",
        " · second factor: ", u.mfa && u.mfa.totp ? "on" : "off"));
    }
    if (manage && below) {
      const linkBox = h("div", { id: "reset-link" });
      parts.push(h("div", { class: "row" }, h("button", {
        type: "button", onclick: async () => {
          try {
            const r = await api.data("POST", `/api/admin/users/${u._id}/password-reset`);
            if (r.mailed) {
              notify(`A password reset link went to ${u.username}'s email.`);
              linkBox.replaceChildren();
            } else {
              linkBox.replaceChildren(h("p", {}, "No mail went (no mail server, or no email on the account). Hand this one-time link to the user; it works for 30 minutes:"),
                h("p", {}, h("code", { class: "wrap" }, r.link)));
            }
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Send password reset")), linkBox);
    }
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
    h("div", { class: "row" }, search, level, h("button", { type: "button", class: "primary", onclick: find }, "Search"),
      manage ? h("button", { type: "button", onclick: newUserForm }, "New user") : null),
    results, detail);
  await list.reload();
}
