// Overview: the health of each store, the build, the keys and their age,
// and the request and error rates from the gateway's own metrics.

import * as api from "../api.js";
import { h, table, formatTime } from "../dom.js";

let last = null; // the previous metrics sample: {at, total, errors}

/** requestCounts sums gateway_http_requests_total from the metrics text. */
export function requestCounts(text) {
  let total = 0, errors = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("gateway_http_requests_total{")) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const status = /status="(\d+)"/.exec(line);
    if (!Number.isFinite(value)) continue;
    total += value;
    if (status && status[1].startsWith("5")) errors += value;
  }
  return { total, errors };
}

function age(created) {
  const days = (Date.now() - new Date(created).getTime()) / 86400000;
  return days < 1 ? "under a day" : `${Math.floor(days)} days`;
}

export async function overview(ctx) {
  const cards = [];
  let ready = "unknown";
  try {
    const r = await fetch("/readyz", { cache: "no-store" });
    ready = (await r.json()).status;
  } catch { ready = "unreachable"; }
  cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Readiness"),
    h("div", { class: "stat " + (ready === "ready" ? "ok" : "bad"), id: "readiness" }, ready)));

  try {
    const text = await (await fetch("/metrics", { cache: "no-store" })).text();
    const now = { at: Date.now(), ...requestCounts(text) };
    let rate = "—", errorRate = "—";
    if (last && now.at > last.at && now.total >= last.total) {
      const secs = (now.at - last.at) / 1000;
      rate = ((now.total - last.total) / secs).toFixed(1) + " /s";
      const n = now.total - last.total;
      errorRate = n ? (100 * (now.errors - last.errors) / n).toFixed(1) + " %" : "0 %";
    }
    last = now;
    cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Requests since start"), h("div", { class: "stat", id: "requests" }, String(now.total))));
    cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Server errors (5xx) since start"), h("div", { class: "stat" }, String(now.errors))));
    cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Request rate · error rate (since the last refresh)"), h("div", { class: "stat" }, `${rate} · ${errorRate}`)));
  } catch {
    cards.push(h("div", { class: "card bad" }, "The metrics cannot be read."));
  }

  const parts = [h("h1", {}, "Overview"), h("div", { class: "grid" }, cards),
    h("div", { class: "row" }, h("button", { type: "button", onclick: () => overview(ctx) }, "Refresh"))];
  if (ctx.can("audit", "read")) {
    const st = await api.data("GET", "/api/admin/status");
    parts.push(h("h2", {}, "Stores"), table([
      { label: "Store", key: "name" }, { label: "Backend", key: "backend" },
      { label: "State", render: (s) => h("span", { class: s.ok ? "ok" : "bad" }, s.ok ? "answering" : "unreachable") },
      { label: "Latency", render: (s) => s.latency_ms.toFixed(2) + " ms" },
    ], st.stores));
    parts.push(h("h2", {}, "Build"), h("p", { id: "build" }, `version ${st.version || "unknown"} · ${st.go_version} · started ${formatTime(st.started_at)}`));
    parts.push(h("h2", {}, "Keys"), table([
      { label: "Use", key: "use" }, { label: "Key id", key: "kid", mono: true },
      { label: "Current", render: (k) => (k.current ? "yes" : "retired") },
      { label: "Made", render: (k) => `${formatTime(k.created_at)} (${age(k.created_at)})` },
      { label: "Accepted until", render: (k) => (k.expires_at ? formatTime(k.expires_at) : "") },
    ], st.keys));
  } else {
    parts.push(h("p", { class: "muted" }, "Stores, build and keys are shown to SystemAdmins and DBAs."));
  }
  ctx.mount(...parts);
}
