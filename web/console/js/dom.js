// Small DOM helpers. Every text a user or the server supplied goes into the
// page as text (textContent, attribute values), never as markup.

/**
 * h builds an element: h("button", {class: "primary", onclick: f}, "Save").
 * Children are nodes or strings (added as text); null and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** mount replaces the main area's content and returns it. */
export function mount(...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  return main;
}

let noticeTimer = 0;

/** notify shows a short message; kind "error" shows it as a failure. */
export function notify(text, kind) {
  const n = document.getElementById("notice");
  n.textContent = text;
  n.className = "notice" + (kind === "error" ? " error" : "");
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
}

/** hideNotice takes the notice away, so that it covers no newer error. */
export function hideNotice() {
  clearTimeout(noticeTimer);
  document.getElementById("notice").hidden = true;
}

/** table renders rows of objects with the given columns. */
export function table(columns, rows, onPick) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.label)))),
    h("tbody", {}, rows.length === 0
      ? h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing to show."))
      : rows.map((row) => h("tr", { class: onPick ? "pick" : null, onclick: onPick ? () => onPick(row) : null },
        columns.map((c) => h("td", { class: c.mono ? "mono" : null }, c.render ? c.render(row) : show(row[c.key])))))));
}

/**
 * userNames makes a table cell for a user id that shows the user's name
 * once known (from the user's public profile), and the id until then or
 * when the caller may not read it. Each name is asked for once per view.
 */
export function userNames(lookup) {
  const known = new Map();
  return (id) => {
    const cell = h("span", { class: "mono", title: id || "" }, show(id));
    if (!id) return cell;
    if (!known.has(id)) known.set(id, lookup(id).then((name) => name || null, () => null));
    known.get(id).then((name) => { if (name) { cell.textContent = name; cell.className = ""; } });
    return cell;
  };
}

/** show writes any value as short text. */
export function show(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * confirmAction asks for a confirmation in the page: the user types the
 * given word. It resolves to true when confirmed.
 */
export function confirmAction(message, word) {
  return new Promise((resolve) => {
    const input = h("input", { "aria-label": "Confirmation", autocomplete: "off" });
    const ok = h("button", { class: "danger", type: "button", disabled: true }, "Confirm");
    const dialog = h("dialog", { class: "card", "aria-label": "Confirm" },
      h("p", {}, message),
      h("p", {}, "Type ", h("strong", {}, word), " to confirm."),
      input,
      h("div", { class: "row" }, ok, h("button", { type: "button", onclick: () => done(false) }, "Cancel")));
    input.addEventListener("input", () => { ok.disabled = input.value !== word; });
    ok.addEventListener("click", () => done(true));
    function done(v) { dialog.close(); dialog.remove(); resolve(v); }
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** formatTime shows an RFC 3339 time in the viewer's locale. */
export function formatTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? show(s) : d.toLocaleString();
}

/**
 * pager shows a listing page by page in el. fetchPage(after) resolves to
 * {data, next}; render(data) makes the nodes of one page. Only the latest
 * request renders, and el is aria-busy while one runs. It returns reload
 * (from the first page) and refresh (the page shown).
 */
export function pager(el, fetchPage, render, labels = ["← Previous", "Next →"]) {
  let cursors = [""];
  let page = 0;
  let seq = 0;
  async function load() {
    const mine = ++seq;
    el.setAttribute("aria-busy", "true");
    try {
      const res = await fetchPage(cursors[page]);
      if (mine !== seq) return;
      el.replaceChildren(render(res.data), h("div", { class: "row" },
        h("button", { type: "button", disabled: page === 0, onclick: () => { page--; load(); } }, labels[0]),
        h("span", { class: "muted" }, `page ${page + 1}`),
        h("button", { type: "button", disabled: !res.next, onclick: () => { cursors[page + 1] = res.next; page++; load(); } }, labels[1])));
    } catch (err) {
      if (mine === seq) el.replaceChildren(h("p", { class: "bad", role: "alert" }, err.message));
    } finally {
      if (mine === seq) el.removeAttribute("aria-busy");
    }
  }
  return {
    reload() { cursors = [""]; page = 0; return load(); },
    refresh: load,
  };
}
