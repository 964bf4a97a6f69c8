// Sign-in with the admin scheme, and the first run's setup form.

import * as api from "../api.js";
import { h, mount, notify } from "../dom.js";

/**
 * signInView asks for an administrator's name and password, then, for an
 * account with a second factor, for a code of its authenticator. onSignIn
 * signs in (with the code, once asked); onEnrol is called when the
 * account's level must have a second factor and has none yet.
 */
export function signInView(onSignIn, onEnrol) {
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const otp = h("input", { id: "otp", name: "otp", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 11 });
  const otpField = h("div", { class: "field", hidden: true }, h("label", { for: "otp" }, "Authenticator code"), otp,
    h("div", { class: "hint" }, "The 6 digits the app shows now, or a recovery code"));
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { class: "primary", type: "submit" }, "Sign in");
  const form = h("form", { class: "card signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Administrators of levels 0–2 (DBA, SystemAdmin, Admin)."),
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), pass),
    otpField, error, submit,
    h("p", { class: "muted" }, h("a", { href: "#forgot" }, "Forgot your password?"), " · API reference: ", h("a", { href: "/api/docs" }, "/api/docs")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    const asked = !otpField.hidden;
    try {
      await onSignIn(user.value.trim(), pass.value, asked ? otp.value.trim() : "");
      pass.value = "";
    } catch (err) {
      if (err.code === "MfaRequiredError" && err.data && err.data.enrol) {
        try {
          await onEnrol(user.value.trim(), pass.value);
        } catch (e2) { error.textContent = e2.message; }
        pass.value = "";
      } else if (err.code === "MfaRequiredError") {
        otpField.hidden = false;
        user.readOnly = true;
        pass.readOnly = true;
        otp.value = "";
        otp.focus();
        if (asked) error.textContent = "Enter the code the app shows now.";
      } else {
        error.textContent = err.status === 401 ? (asked ? "That code is not right, or it was used already." : "Wrong username or password.") : err.message;
        if (!asked) pass.value = "";
        otp.value = "";
      }
    } finally {
      submit.disabled = false;
    }
  });
  mount(form);
  user.focus();
}

/** setupView creates the first DBA with the one-time setup link's token. */
export async function setupView(token, done) {
  let pending = false;
  if (token) {
    try { pending = (await api.data("GET", "/api/setup", undefined, { noAuth: true, headers: { "X-Setup-Token": token } })).pending; } catch { /* shown below */ }
  }
  if (!pending) {
    mount(h("div", { class: "card signin" }, h("h1", {}, "Setup"),
      h("p", {}, "This setup link cannot be used: the gateway has an administrator already, or the link has expired."),
      h("p", {}, "An operator can make one with ", h("code", {}, "gatewayctl bootstrap"), "."),
      h("a", { class: "button", href: "#/" }, "Sign in")));
    return;
  }
  const user = h("input", { id: "setup-username", autocomplete: "username", pattern: "[a-z0-9_]{4,32}", required: true });
  const pass = h("input", { id: "setup-password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true });
  const again = h("input", { id: "setup-again", type: "password", autocomplete: "new-password", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card signin" },
    h("h1", {}, "Create the first administrator"),
    h("p", { class: "muted" }, "This account has level 0 (DBA): every right, backup and restore included. The link works once."),
    h("div", { class: "field" }, h("label", { for: "setup-username" }, "Username"), user, h("div", { class: "hint" }, "4–32 of a–z, 0–9 and _")),
    h("div", { class: "field" }, h("label", { for: "setup-password" }, "Password"), pass, h("div", { class: "hint" }, "8–128 characters, not a common password")),
    h("div", { class: "field" }, h("label", { for: "setup-again" }, "Password again"), again),
    error, h("button", { class: "primary", type: "submit" }, "Create"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    if (!/^[a-z0-9_]{4,32}$/.test(user.value)) { error.textContent = "The username must be 4 to 32 of a–z, 0–9 and _."; return; }
    if ([...pass.value].length < 8) { error.textContent = "The password must be at least 8 characters."; return; }
    if (pass.value !== again.value) { error.textContent = "The passwords differ."; return; }
    try {
      await api.data("POST", "/api/setup", { token, username: user.value, password: pass.value }, { noAuth: true });
      await api.signIn(user.value, pass.value);
      notify("The first administrator is made; you are signed in.");
      done();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  mount(form);
  user.focus();
}
