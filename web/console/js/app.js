// The console's shell: sign-in, the first-run setup, and the views a caller
// may use, chosen from the permissions /api/account/me reports.

import * as api from "./api.js";
import { h, mount, notify } from "./dom.js";
import { overview } from "./views/overview.js";
import { resourcesView } from "./views/resources.js";
import { usersView } from "./views/users.js";
import { transactionsView } from "./views/transactions.js";
import { policyView } from "./views/policy.js";
import { auditView } from "./views/audit.js";
import { backupView } from "./views/backup.js";
import { signInView, setupView } from "./views/signin.js";
import { accountView, enrolSection } from "./views/account.js";
import { verifyView, passwordView, forgotView } from "./views/recovery.js";
import { stopFollowing } from "./live.js";

// Each view: its route, its title, and whether a caller with these rights
// sees it at all.
const views = [
  { route: "overview", title: "Overview", show: () => true, render: overview },
  { route: "resources", title: "Resources", show: () => true, render: resourcesView },
  { route: "users", title: "Users", show: (c) => c.can("users", "manage") || c.can("users", "balance"), render: usersView },
  { route: "transactions", title: "Transactions", show: (c) => c.can("transaction_record", "query"), render: transactionsView },
  { route: "policy", title: "Policy", show: (c) => c.can("policy", "manage"), render: policyView },
  { route: "audit", title: "Audit trail", show: (c) => c.can("audit", "read"), render: auditView },
  { route: "backup", title: "Backup", show: (c) => c.can("database", "backup") || c.can("database", "restore"), render: backupView },
  { route: "account", title: "My account", show: () => true, render: accountView },
];

// The pages of mailed links: each takes the token from the fragment (never
// sent to a server) and takes it out of the address bar at once.
const tokenPages = {
  "verify=": (token) => verifyView(token),
  "reset=": (token) => passwordView(token, false),
  "invite=": (token) => passwordView(token, true),
};

/** enrolOnly shows a session that may only enrol a second factor. */
function enrolOnly() {
  renderNav("");
  const again = h("button", { type: "button", class: "primary", onclick: async () => { await api.signOut(); route(); } }, "Sign in again");
  mount(h("div", { class: "card signin" }, h("h1", {}, "Set up a second factor"),
    h("p", {}, "Your level must sign in with a second factor. Set one up to go on."),
    enrolSection((box) => box.append(h("p", {}, "Now sign in with the password and a code of the app."), again))));
}

let ctx = null; // the signed-in caller: {me, can, doc()}
let shown = 0; // counts the views shown; a view renders only while it is the last

async function signedIn() {
  const me = await api.data("GET", "/api/account/me");
  if (me.level > 2) {
    await api.signOut();
    throw new api.ApiError(403, "PermissionDeniedError", "the console is for levels 0 to 2 (DBA, SystemAdmin, Admin)");
  }
  const perms = new Set(me.permissions || []);
  let docPromise = null;
  ctx = {
    me,
    can: (object, action) => perms.has(object + ":" + action),
    // The API description: the resources and their schemas.
    doc: () => (docPromise = docPromise || fetch("/api/openapi.json", { cache: "no-store" }).then((r) => r.json())),
  };
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  nav.replaceChildren(...(ctx ? views.filter((v) => v.show(ctx)).map((v) =>
    h("a", { href: "#/" + v.route, class: v.route === active ? "active" : null }, v.title)) : []));
  const who = document.getElementById("who");
  who.replaceChildren(...(ctx ? [
    h("span", {}, `${ctx.me.username} · ${ctx.me.level_name}`),
    h("button", { type: "button", onclick: async () => { await api.signOut(); ctx = null; location.hash = "#/"; route(); } }, "Sign out"),
  ] : []));
}

async function route() {
  const hash = location.hash.slice(1);
  shown++; // whatever shows next, no earlier view may cover it
  stopFollowing(); // a view that is no longer shown stops following changes
  for (const [prefix, page] of Object.entries(tokenPages)) {
    if (!hash.startsWith(prefix)) continue;
    let token = "";
    try { token = decodeURIComponent(hash.slice(prefix.length)); } catch { /* refused by the server as unusable */ }
    history.replaceState(null, "", location.pathname + "#/");
    renderNav("");
    return page(token);
  }
  if (hash === "forgot") {
    renderNav("");
    return forgotView();
  }
  if (hash.startsWith("setup=")) {
    // A mistyped or cut link may not decode: it is then a token no setup
    // accepts, and the view says so.
    let setupToken = "";
    try { setupToken = decodeURIComponent(hash.slice("setup=".length)); } catch { /* shown as an unusable link */ }
    // The token leaves the address bar and the history at once.
    history.replaceState(null, "", location.pathname + "#/");
    renderNav("");
    return setupView(setupToken, () => route());
  }
  if (!ctx && api.token()) {
    try { await signedIn(); } catch (err) { api.setToken(""); notify(err.message, "error"); }
  }
  if (!ctx) {
    renderNav("");
    return signInView(async (username, password, otp) => {
      await api.signIn(username, password, otp);
      await signedIn();
      route();
    }, async (username, password) => {
      await api.signInToEnrol(username, password);
      enrolOnly();
    });
  }
  const [name, ...rest] = hash.replace(/^\//, "").split("/");
  const view = views.find((v) => v.route === name && v.show(ctx)) || views[0];
  renderNav(view.route);
  document.title = view.title + " · Gateway console";
  // A view that finishes loading after the caller moved on must not cover
  // the view they moved to: its mount does nothing once another is shown.
  const mine = ++shown;
  const viewCtx = { ...ctx, mount: (...nodes) => { if (mine === shown) mount(...nodes); } };
  try {
    await view.render(viewCtx, rest.map(decodeURIComponent));
  } catch (err) {
    viewCtx.mount(h("h1", {}, view.title), h("p", { class: "bad" }, err.message || String(err)));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("gateway:signed-out", () => { ctx = null; notify("Signed out: the session ended.", "error"); route(); });
route();
