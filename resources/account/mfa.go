package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"image/png"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tnt/gateway/resources"
)

// Fields of an account's second factor, beside resources.FieldMFATOTP (the
// confirmed secret, sealed).
const (
	fieldMFAPending  = "mfa_pending"  // a secret waiting for its first code, sealed
	fieldMFAStep     = "mfa_step"     // the time step of the last code accepted
	fieldMFARecovery = "mfa_recovery" // hashes of the recovery codes not yet used
)

// sealTOTP is the purpose TOTP secrets are sealed for.
const sealTOTP = "totp"

// totpOptions are RFC 6238's defaults, which every authenticator app
// reads: SHA-1, 6 digits, 30-second steps.
func totpOptions() totp.ValidateOpts {
	return totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// Enrolment is a TOTP secret waiting for its first code: the secret to
// type, the otpauth:// URI, and that URI as a QR code (a PNG data URL).
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QR     string `json:"qr_png"`
}

// hasTOTP reports whether an account signs in with a second factor.
func hasTOTP(u resources.User) bool {
	return resources.AsString(u.Profile[resources.FieldMFATOTP]) != ""
}

// mfaRequired reports whether an account's level must have a second factor.
func (a *Service) mfaRequired(level int) bool { return slices.Contains(a.cfg.MFALevels, level) }

// EnrolTOTP starts the enrolment of a TOTP authenticator: a new secret,
// sealed, waits in the account for its first code (a newer enrolment
// replaces it). Until it is confirmed the password alone still signs in.
func (a *Service) EnrolTOTP(ctx context.Context, p resources.Principal) (Enrolment, error) {
	if err := mustBeUser(p); err != nil {
		return Enrolment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: a.cfg.MFAIssuer, AccountName: p.Username, Period: 30, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, err
	}
	sealed, err := a.sealer.Seal(sealTOTP, []byte(key.Secret()), []byte(p.UserID))
	if err != nil {
		return Enrolment{}, err
	}
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		u, err := loadAccount(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if hasTOTP(u) {
			return resources.Errorf(resources.ECONFLICT, "a TOTP authenticator is enrolled already; remove it first")
		}
		_, err = tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{fieldMFAPending: sealed}, nil)
		return err
	})
	if err != nil {
		return Enrolment{}, err
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return Enrolment{}, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URI: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())}, nil
}

// loadAccount reads the caller's account; a deleted one is a 401.
func loadAccount(ctx context.Context, g resources.Getter, userID string) (resources.User, error) {
	u, err := resources.LoadUser(ctx, g, userID)
	if errors.Is(err, resources.ErrNotFound) {
		return resources.User{}, resources.Errorf(resources.EAUTHENTICATION, "the account no longer exists")
	}
	return u, err
}

// ConfirmTOTP confirms an enrolment with a code of the waiting secret
// (that code then counts as used) and returns ten recovery codes, shown
// only now. The account's other sessions end: they signed in without the
// factor. Audited.
func (a *Service) ConfirmTOTP(ctx context.Context, p resources.Principal, code, ip string) ([]string, error) {
	if err := mustBeUser(p); err != nil {
		return nil, err
	}
	from := client{IP: ip, Known: true}
	id := codeIdentity(p.UserID)
	if err := a.throttle(ctx, id, from); err != nil {
		return nil, err
	}
	u, err := loadAccount(ctx, a.store, p.UserID)
	if err != nil {
		return nil, err
	}
	pending := resources.AsString(u.Profile[fieldMFAPending])
	if pending == "" || hasTOTP(u) {
		return nil, resources.Errorf(resources.ECONFLICT, "no enrolment is waiting: start one with POST /api/account/mfa/totp")
	}
	secret, err := a.sealer.Open(sealTOTP, pending, []byte(u.ID))
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(string(secret), code, a.now(), 0)
	if !ok {
		a.recordFailure(ctx, id, from)
		return nil, errCode()
	}
	codes, hashes := recoveryCodes()
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		now, err := loadAccount(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if hasTOTP(now) || resources.AsString(now.Profile[fieldMFAPending]) != pending {
			return resources.Errorf(resources.ECONFLICT, "the enrolment changed meanwhile; start again")
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{resources.FieldMFATOTP: pending, fieldMFAStep: step,
			fieldMFARecovery: hashes, resources.FieldUpdatedAt: resources.FormatTime(a.now())}, []string{fieldMFAPending}); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: p, IP: ip, Action: "enable_mfa", Target: u.ID,
			Detail: resources.Document{"username": u.Username, "factor": "totp"}, At: a.now()})
	})
	if err != nil {
		return nil, err
	}
	if _, err := a.sessions.RevokeUser(context.WithoutCancel(ctx), u.ID, p.SessionID); err != nil {
		return nil, err
	}
	return codes, nil
}

// RemoveTOTP removes the account's authenticator and recovery codes, on
// an encrypted payload {"password", "code"} (a TOTP or a recovery code).
// Audited.
func (a *Service) RemoveTOTP(ctx context.Context, p resources.Principal, payload, ip string) error {
	m, checked, err := a.confirmed(ctx, p, payload, ip, "password", "code")
	if err != nil {
		return err
	}
	u, err := loadAccount(ctx, a.store, p.UserID)
	if err != nil {
		return err
	}
	if !hasTOTP(u) {
		return resources.Errorf(resources.ECONFLICT, "no second factor is enrolled")
	}
	if err := a.useCode(ctx, u.ID, textField(m, "code"), client{IP: ip, Known: true}); err != nil {
		return err
	}
	return a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := a.accounts.currentIn(ctx, tx, checked); err != nil {
			return err
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{resources.FieldUpdatedAt: resources.FormatTime(a.now())},
			[]string{resources.FieldMFATOTP, fieldMFAPending, fieldMFAStep, fieldMFARecovery}); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: p, IP: ip, Action: "disable_mfa", Target: u.ID,
			Detail: resources.Document{"username": u.Username, "factor": "totp"}, At: a.now()})
	})
}

// errCode is the one answer for a second-factor code that is refused.
func errCode() error {
	return failed(ReasonCode, resources.Errorf(resources.EAUTHENTICATION, "the token or code is not valid"))
}

// codeIdentity names an account's second-factor attempts for throttling:
// they are counted like password attempts, by account and client.
func codeIdentity(userID string) identity { return identity{field: fieldCode, value: userID} }

// fieldCode marks the identity of second-factor attempts.
const fieldCode = "mfa"

// useCode accepts a code of the account's second factor once: a TOTP code
// of the current time step or one step either side, newer than the last
// accepted, or an unused recovery code. Refusals are counted like wrong
// passwords and throttled. The code is recorded as used in a transaction
// that checks it is still unused, so of two requests with one code only
// one passes.
func (a *Service) useCode(ctx context.Context, userID, code string, from client) error {
	id := codeIdentity(userID)
	if err := a.throttle(ctx, id, from); err != nil {
		return err
	}
	err := a.spendCode(ctx, userID, code, from)
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		a.recordFailure(ctx, id, from)
	}
	if err != nil {
		return err
	}
	if user, _ := failureKeys(id, from.IP); user != "" {
		_ = a.sessions.Reset(ctx, user)
	}
	return nil
}

func (a *Service) spendCode(ctx context.Context, userID, code string, from client) error {
	code = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(code))
	if len(code) == 0 || len(code) > 32 {
		return errCode()
	}
	u, err := resources.LoadUser(ctx, a.store, userID)
	if errors.Is(err, resources.ErrNotFound) {
		return errCode()
	}
	if err != nil {
		return err
	}
	sealed := resources.AsString(u.Profile[resources.FieldMFATOTP])
	if sealed == "" {
		return errCode()
	}
	if len(code) == 6 {
		secret, err := a.sealer.Open(sealTOTP, sealed, []byte(u.ID))
		if err != nil {
			return err
		}
		last, _ := resources.AsInt(u.Profile[fieldMFAStep])
		step, ok := matchTOTP(string(secret), code, a.now(), last)
		if !ok {
			return errCode()
		}
		return a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
			now, err := resources.LoadUser(ctx, tx, userID)
			if err != nil {
				return errCode()
			}
			if seen, _ := resources.AsInt(now.Profile[fieldMFAStep]); seen >= step || resources.AsString(now.Profile[resources.FieldMFATOTP]) != sealed {
				return errCode() // a concurrent request took this code
			}
			_, err = tx.Update(ctx, resources.UsersCollection, userID, resources.Document{fieldMFAStep: step}, nil)
			return err
		})
	}
	want := hashSecret("recovery\x00" + code)
	return a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		now, err := resources.LoadUser(ctx, tx, userID)
		if err != nil {
			return errCode()
		}
		left := recoveryHashes(now.Profile[fieldMFARecovery])
		i := slices.IndexFunc(left, func(h string) bool { return subtle.ConstantTimeCompare([]byte(h), []byte(want)) == 1 })
		if i < 0 {
			return errCode()
		}
		left = slices.Delete(left, i, i+1)
		if _, err := tx.Update(ctx, resources.UsersCollection, userID, resources.Document{fieldMFARecovery: left}, nil); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: principalOf(now), IP: from.IP, Action: "use_recovery_code", Target: userID,
			Detail: resources.Document{"username": now.Username, "left": int64(len(left))}, At: a.now()})
	})
}

// recoveryHashes reads the stored hashes of unused recovery codes.
func recoveryHashes(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, h := range list {
		if s, ok := h.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// matchTOTP finds the time step, within one step of t and after last, whose
// code is code.
func matchTOTP(secret, code string, t time.Time, last int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	now := t.Unix() / 30
	var found int64
	for step := now - 1; step <= now+1; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOptions())
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > last && found == 0 {
			found = step
		}
	}
	return found, found != 0
}

// recoveryAlphabet leaves out letters and digits a person confuses.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// recoveryCodes makes ten recovery codes (ten characters each, about 49
// bits, written xxxxx-xxxxx) and the hashes the account keeps of them.
func recoveryCodes() (codes []string, hashes []any) {
	for range 10 {
		var c [10]byte
		for i := range c {
			c[i] = recoveryAlphabet[uniform(len(recoveryAlphabet))]
		}
		code := string(c[:5]) + "-" + string(c[5:])
		codes = append(codes, code)
		hashes = append(hashes, hashSecret("recovery\x00"+string(c[:])))
	}
	return codes, hashes
}

// uniform returns a random number below n (n ≤ 256) without modulo bias.
func uniform(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// ResetMFA removes the second factor of the account named username, by an
// operator (the CLI) for an owner who lost both the authenticator and the
// recovery codes, and audits it in the same transaction. The caller then
// ends the account's sessions. It reports whether there was a factor.
func (a *Accounts) ResetMFA(ctx context.Context, username string, entry resources.AuditEntry) (resources.User, bool, error) {
	var u resources.User
	had := false
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		found, ok, err := resources.FindUser(ctx, tx, username)
		if err != nil {
			return err
		}
		if !ok {
			return resources.Errorf(resources.ENOTFOUND, "no user is named %s", resources.QuoteName(username))
		}
		u, had = found, hasTOTP(found) || resources.AsString(found.Profile[fieldMFAPending]) != ""
		if !had {
			return nil
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{resources.FieldUpdatedAt: resources.FormatTime(a.now())},
			[]string{resources.FieldMFATOTP, fieldMFAPending, fieldMFAStep, fieldMFARecovery}); err != nil {
			return err
		}
		entry.Target, entry.At = u.ID, a.now()
		entry.Detail = resources.Document{"username": username, "factor": "totp"}
		return resources.WriteAudit(ctx, tx, entry)
	})
	return u, had, err
}
