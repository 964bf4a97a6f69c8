// The pages a mailed link opens, which need no sign-in: verifying an email
// address, choosing a password (after a reset or an invitation), and asking
// for a reset.

import * as api from "../api.js";
import { h, mount } from "../dom.js";
import { seal } from "../seal.js";

const signInLink = () => h("a", { class: "button", href: "#/" }, "Sign in");

/** verifyView spends an email verification token. */
export async function verifyView(token) {
  const card = h("div", { class: "card signin" }, h("h1", {}, "Email address"), h("p", { class: "muted" }, "Checking the link…"));
  mount(card);
  try {
    await api.data("POST", "/api/account/email/verify", { token }, { noAuth: true });
    card.replaceChildren(h("h1", {}, "Email address"), h("p", { class: "ok", id: "recovery-done" }, "Your email address is verified."));
  } catch (err) {
    card.replaceChildren(h("h1", {}, "Email address"),
      h("p", { class: "bad", id: "recovery-done" }, err.status === 401 ? "This link cannot be used: it was used already, replaced by a newer one, or it has expired." : err.message));
  }
}

/** passwordView chooses a password with a reset or invitation token. */
export function passwordView(token, invited) {
  const pass = h("input", { id: "new-password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true });
  const again = h("input", { id: "new-again", type: "password", autocomplete: "new-password", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const title = invited ? "Choose your password" : "Choose a new password";
  const form = h("form", { class: "card signin" }, h("h1", {}, title),
    h("p", { class: "muted" }, invited ? "Your account is ready; it needs a password." : "Every session of the account ends once the new password is set."),
    h("div", { class: "field" }, h("label", { for: "new-password" }, "Password"), pass, h("div", { class: "hint" }, "8–128 characters, not a common password")),
    h("div", { class: "field" }, h("label", { for: "new-again" }, "Password again"), again),
    error, h("button", { class: "primary", type: "submit" }, "Set password"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    if (pass.value !== again.value) { error.textContent = "The passwords differ."; return; }
    try {
      const payload = await seal({ token, new_password: pass.value });
      await api.data("POST", "/api/account/password/reset/confirm", { payload }, { noAuth: true });
      mount(h("div", { class: "card signin" }, h("h1", {}, title),
        h("p", { class: "ok", id: "recovery-done" }, "Your password is set. Sign in with it."), signInLink()));
    } catch (err) {
      error.textContent = err.status === 401 ? "This link cannot be used: it was used already, replaced by a newer one, or it has expired. Ask for a new one." : err.message;
    } finally { pass.value = ""; again.value = ""; }
  });
  mount(form);
  pass.focus();
}

/** forgotView asks for a reset mail by username or email. */
export function forgotView() {
  const who = h("input", { id: "forgot-who", autocomplete: "username", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card signin" }, h("h1", {}, "Forgot your password?"),
    h("div", { class: "field" }, h("label", { for: "forgot-who" }, "Username or email"), who),
    error, h("button", { class: "primary", type: "submit" }, "Send me a link"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const v = who.value.trim();
    try {
      await api.data("POST", "/api/account/password/reset", v.includes("@") ? { email: v } : { username: v }, { noAuth: true });
      mount(h("div", { class: "card signin" }, h("h1", {}, "Forgot your password?"),
        h("p", { id: "recovery-done" }, "If an account matches, a mail with a link is on its way. The link works for 30 minutes."), signInLink()));
    } catch (err) {
      error.textContent = err.status === 503 ? "No mail server is configured: ask an administrator to reset your password." : err.message;
    }
  });
  mount(form);
  who.focus();
}
