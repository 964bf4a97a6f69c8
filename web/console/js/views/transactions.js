// Transactions: records filtered by status and user; verify a purchase with
// the buyer's code, cancel it (refund and restock), add a fulfillment note.

import * as api from "../api.js";
import { h, notify, table, formatTime, confirmAction, pager, userNames } from "../dom.js";
import { follow } from "../live.js";

export async function transactionsView(ctx) {
  const status = h("select", { "aria-label": "Status" }, h("option", { value: "" }, "any status"),
    ["pending", "completed", "cancelled"].map((s) => h("option", { value: s }, s)));
  const user = h("input", { "aria-label": "User id", placeholder: "user id", pattern: "[0-9a-f]{24}" });
  const results = h("div", { id: "results" });
  const detail = h("div", {});
  const userCell = userNames(async (id) => (await api.data("GET", "/api/profile/" + encodeURIComponent(id))).username);
  const list = pager(results, (after) => {
    const data = { find: 20, sort: "-created_at" };
    if (status.value) data.status = { equals: status.value };
    if (user.value.trim()) data.user = { equals: user.value.trim() };
    if (after) data.after = after;
    return api.call("POST", "/api/transaction_record", { operation: "query", data });
  }, (records) => table([
    { label: "Created", render: (r) => formatTime(r.created_at) }, { label: "Kind", key: "kind" }, { label: "Status", key: "status" },
    { label: "Total", render: (r) => r.total ?? r.amount }, { label: "User", render: (r) => userCell(r.user) }, { label: "Id", key: "_id", mono: true },
  ], records, openRecord));
  const load = () => list.refresh();

  function openRecord(r) {
    // The code is the buyer's proof of handover: it is asked for below, so
    // it is not shown right above the box.
    const { verification_code: _code, ...shown } = r;
    const parts = [h("h2", {}, `${r.kind} ${r._id}`), h("pre", { class: "mono" }, JSON.stringify(shown, null, 2))];
    const pending = r.kind === "purchase" && r.status === "pending";
    if (pending && ctx.can("wallet", "verify")) {
      const code = h("input", { "aria-label": "Verification code", placeholder: "the code the buyer shows", autocomplete: "off" });
      parts.push(h("div", { class: "row" }, code, h("button", {
        type: "button", class: "primary", onclick: async () => {
          try {
            await api.data("POST", "/api/verify_transaction", { transaction_id: r._id, verification_code: code.value.trim() });
            notify("Purchase verified: completed, sellers credited.");
            refresh(r._id);
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Verify")));
    }
    if (pending && ctx.can("wallet", "cancel")) {
      parts.push(h("div", { class: "row" }, h("button", {
        type: "button", class: "danger", onclick: async () => {
          if (!(await confirmAction("Cancel this purchase? The buyer is refunded and the stock restored.", "cancel"))) return;
          try {
            await api.data("POST", "/api/cancel_transaction", { transaction_id: r._id });
            notify("Purchase cancelled.");
            refresh(r._id);
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Cancel purchase")));
    }
    if (ctx.can("transaction_record", "update")) {
      const note = h("textarea", { "aria-label": "Fulfillment note", maxlength: 2000, rows: 2 });
      note.value = r.fulfillment || "";
      parts.push(h("label", {}, "Fulfillment note"), note, h("div", { class: "row" }, h("button", {
        type: "button", onclick: async () => {
          try {
            await api.data("POST", "/api/transaction_record", { operation: "update", data: { _id: r._id, fulfillment: note.value } });
            notify("Note saved.");
            refresh(r._id);
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Save note")));
    }
    detail.replaceChildren(h("div", { class: "card" }, ...parts));
  }

  async function refresh(id) {
    load();
    try { openRecord(await api.data("GET", "/api/transaction_record/" + id)); } catch (err) { notify(err.message, "error"); }
  }

  const find = () => list.reload();
  const liveState = h("span", { class: "muted", id: "live", "aria-live": "polite" }, "");
  ctx.mount(h("h1", {}, "Transactions"),
    h("div", { class: "row" }, status, user, h("button", { type: "button", class: "primary", onclick: find }, "Search"), liveState),
    results, detail);
  await list.reload();
  // New purchases, verifications and cancellations show as they happen.
  follow("transaction_record", load, (state) => { liveState.textContent = state; });
}
