// The caller's own account: email verification and the second factor
// (a TOTP authenticator: enrol with a QR code, confirm with a code, keep the
// recovery codes; remove with the password and a code).

import * as api from "../api.js";
import { h, notify } from "../dom.js";
import { seal } from "../seal.js";

/** accountView shows the caller's account and its second factor. */
export async function accountView(ctx) {
  const me = await api.data("GET", "/api/account/me");
  const mfa = me.mfa || {};
  const email = me.email
    ? h("p", {}, "Email: ", h("strong", {}, me.email), " ",
      me.email_verified ? h("span", { class: "ok", id: "email-state" }, "verified")
        : h("span", { id: "email-state" }, h("span", { class: "muted" }, "not verified "), h("button", {
          type: "button", onclick: async () => {
            try {
              await api.data("POST", "/api/account/email/verification");
              notify(`A link that verifies ${me.email} is on its way.`);
            } catch (err) { notify(err.status === 503 ? "No mail server is configured: the email cannot be verified." : err.message, "error"); }
          },
        }, "Send verification mail")))
    : h("p", { class: "muted" }, "No email address on this account.");
  const factor = h("div", { id: "mfa" });
  if (mfa.totp) {
    factor.append(h("p", {}, h("strong", { class: "ok" }, "A TOTP authenticator is enrolled."), ` Recovery codes left: ${mfa.recovery_codes_left}.`),
      removeForm(() => ctx.mount(h("p", {}, "Removed."))));
  } else {
    if (mfa.required) factor.append(h("p", { class: "bad" }, "Your level must sign in with a second factor."));
    factor.append(enrolSection(() => notify("The authenticator is enrolled: sign-ins now ask for its code.")));
  }
  ctx.mount(h("h1", {}, "My account"),
    h("div", { class: "card" }, h("h2", {}, `${me.username} · ${me.level_name}`), email),
    h("div", { class: "card" }, h("h2", {}, "Second factor"), factor));
}

/**
 * enrolSection starts an enrolment on a click: the QR code and the secret,
 * then a code to confirm, then the recovery codes, shown once.
 */
export function enrolSection(done) {
  const box = h("div", {},
    h("p", {}, "An authenticator app (any that reads TOTP: 6 digits every 30 seconds) gives a code at each sign-in."),
    h("button", { type: "button", class: "primary", onclick: start }, "Set up an authenticator"));
  async function start() {
    let en;
    try { en = await api.data("POST", "/api/account/mfa/totp"); } catch (err) { notify(err.message, "error"); return; }
    const code = h("input", { id: "mfa-code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true });
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", {},
      h("p", {}, "Scan this code with the authenticator app:"),
      h("img", { id: "mfa-qr", src: en.qr_png, alt: "QR code of the authenticator's secret", width: 200, height: 200 }),
      h("p", {}, "Or type the secret: ", h("code", { id: "mfa-secret" }, en.secret)),
      h("div", { class: "field" }, h("label", { for: "mfa-code" }, "The code the app shows now"), code),
      error, h("button", { type: "submit", class: "primary" }, "Confirm"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      try {
        const res = await api.data("POST", "/api/account/mfa/totp/confirm", { code: code.value.trim() });
        box.replaceChildren(h("p", {}, h("strong", { class: "ok" }, "The authenticator is enrolled.")),
          h("p", {}, "Keep these recovery codes somewhere safe. Each signs in once in place of a code; they are not shown again."),
          h("ul", { id: "recovery-codes", class: "codes" }, res.recovery_codes.map((c) => h("li", {}, h("code", {}, c)))));
        done(box);
      } catch (err) {
        error.textContent = err.status === 401 ? "That code is not right: try the one the app shows now." : err.message;
      }
    });
    box.replaceChildren(form);
    code.focus();
  }
  return box;
}

/** removeForm removes the authenticator with the password and a code. */
function removeForm(done) {
  const pass = h("input", { id: "mfa-remove-password", type: "password", autocomplete: "current-password", required: true });
  const code = h("input", { id: "mfa-remove-code", autocomplete: "one-time-code", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", {},
    h("div", { class: "field" }, h("label", { for: "mfa-remove-password" }, "Password"), pass),
    h("div", { class: "field" }, h("label", { for: "mfa-remove-code" }, "A code of the app, or a recovery code"), code),
    error, h("button", { type: "submit", class: "danger" }, "Remove the authenticator"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const payload = await seal({ password: pass.value, code: code.value.trim() });
      await api.data("DELETE", "/api/account/mfa/totp", { payload });
      notify("The authenticator is removed.");
      done();
    } catch (err) {
      error.textContent = err.status === 401 ? "The password or the code is not right." : err.message;
    } finally { pass.value = ""; }
  });
  return form;
}
