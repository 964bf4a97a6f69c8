package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/tnt/gateway/resources/mail/mailtest"
)

// mailedToken reads the one-time token of a link of a kind in a mail, and
// checks that the link is on the gateway's public address.
func mailedToken(t *testing.T, m mailtest.Received, kind string) string {
	t.Helper()
	link := regexp.MustCompile(`http://console\.example\.test/console/#` + kind + `=([A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Part("text/plain"))
	if link == nil {
		t.Fatalf("no %s link on the public address in:\n%s", kind, m.Part("text/plain"))
	}
	return link[1]
}

// choosePassword fills the page of a reset or invitation link and sends it.
func (b *browserSession) choosePassword(password string) {
	b.t.Helper()
	b.typeInto("#new-password", password)
	b.typeInto("#new-again", password)
	b.click("Set password")
}

// TestConsoleAccountsInBrowser walks the accounts work of the console in a
// real Chromium: a DBA whose level must have a second factor enrols one at
// sign-in (the QR code shown, a code accepted, recovery codes given), signs
// in again with a code; invites a user, who chooses a password through the
// mailed link; sends that user a reset, which works the same way; and sees
// each user's email and second-factor state.
func TestConsoleAccountsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	box := mailtest.Start(t, mailtest.Options{})
	const dba, dbaPass = "root_dba", "a first long password"
	g := MustRun(t, fastConfig(t, map[string]string{
		"GATEWAY_BOOTSTRAP_USER": dba, "GATEWAY_BOOTSTRAP_PASSWORD": dbaPass, "GATEWAY_MFA_LEVELS": "0,1",
		"GATEWAY_SMTP_URL": box.URL(), "GATEWAY_MAIL_FROM": "Gateway <noreply@console.example.test>",
		"GATEWAY_PUBLIC_URL": "http://console.example.test",
	}))
	b := newBrowser(t, g.url)

	// The DBA must enrol before anything else.
	b.open("/console/")
	b.typeInto("#username", dba)
	b.typeInto("#password", dbaPass)
	b.click("Sign in")
	b.waitText("main", "Your level must sign in with a second factor")
	b.click("Set up an authenticator")
	b.do(chromedp.WaitVisible(chromedp.CSS("#mfa-qr")))
	drawn, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`(() => { const i = document.querySelector("#mfa-qr"); return i.complete && i.naturalWidth >= 200; })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || !drawn {
		t.Fatalf("the QR code is not drawn: %v", err)
	}
	secret, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#mfa-secret")))
	if err != nil || !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("the secret shown: %q %v", secret, err)
	}
	b.shot("mfa-enrol")
	now := time.Now()
	code, _ := totp.GenerateCode(secret, now)
	b.typeInto("#mfa-code", code)
	b.click("Confirm")
	b.waitText("#recovery-codes", "-")
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#recovery-codes li").length`))
	if err != nil || n != 10 {
		t.Errorf("%d recovery codes shown (%v)", n, err)
	}
	b.shot("mfa-recovery-codes")

	// Signing in again asks for a code.
	b.click("Sign in again")
	b.typeInto("#username", dba)
	b.typeInto("#password", dbaPass)
	b.click("Sign in")
	b.waitText("main", "Authenticator code")
	b.shot("signin-code")
	next, _ := totp.GenerateCode(secret, now.Add(30*time.Second)) // the confirming code is spent
	b.typeInto("#otp", next)
	b.click("Sign in")
	b.waitText("#who", dba)

	// The overview tells whether mail can go.
	b.open("/console/#/overview")
	b.waitText("main", "smtp")

	// The account's own page tells the factor's state.
	b.open("/console/#/account")
	b.waitText("#mfa", "A TOTP authenticator is enrolled")
	b.waitText("#mfa", "Recovery codes left: 10")
	b.shot("account")

	// A new user, invited by mail, chooses a password through the link.
	b.open("/console/#/users")
	b.click("New user")
	b.typeInto("#nu-username", "invited_coach")
	b.typeInto("#nu-email", "coach@example.com")
	b.setValue("#nu-level", "3")
	b.shot("users-new")
	b.click("Create user")
	b.waitText("#notice", "an invitation went to coach@example.com")
	b.waitText("#user-state", "coach@example.com · not verified · second factor: off")
	invite := mailedToken(t, box.WaitFor(t, "coach@example.com", 0), "invite")
	b.open("/console/#invite=" + invite)
	b.waitText("main", "Choose your password")
	b.choosePassword("chosen by the coach")
	b.waitText("#recovery-done", "Your password is set")
	if status, _ := payloadCall(t, g.url, "/api/auth", map[string]any{"username": "invited_coach", "password": "chosen by the coach"}); status != http.StatusOK {
		t.Errorf("the invited user signs in: %d", status)
	}

	// A reset sent from the console: the link in the mail sets a new one.
	b.open("/console/#/users")
	b.openUser("invited_coach")
	b.click("Send password reset")
	b.waitText("#notice", "A password reset link went to invited_coach's email")
	b.shot("users-reset")
	reset := mailedToken(t, box.WaitFor(t, "coach@example.com", 1), "reset")
	b.open("/console/#reset=" + reset)
	b.waitText("main", "Choose a new password")
	b.choosePassword("reset by the coach")
	b.waitText("#recovery-done", "Your password is set")
	if status, _ := payloadCall(t, g.url, "/api/auth", map[string]any{"username": "invited_coach", "password": "reset by the coach"}); status != http.StatusOK {
		t.Errorf("the reset password signs in: %d", status)
	}
	// The spent link says so.
	b.open("/console/#reset=" + reset)
	b.choosePassword("once more please")
	b.waitText("main", "This link cannot be used")

	// The list shows each user's email and second factor.
	b.open("/console/#/users")
	b.openUser(dba)
	b.waitText("#user-state", "second factor: on")
	address, _ := chromedp.Run(b.ctx, chromedp.Location())
	if strings.Contains(address, reset) || strings.Contains(address, invite) {
		t.Errorf("a token stays in the address bar: %s", address)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the pages reported: %s", fmt.Sprint(b.problems))
	}
}
