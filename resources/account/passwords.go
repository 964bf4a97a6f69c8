package account

import (
	"bufio"
	_ "embed"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tnt/gateway/resources"
)

//go:embed common_passwords.txt
var commonPasswords string

// usernamePattern is what a username is: 4 to 32 of a-z, 0-9 and _.
var usernamePattern = regexp.MustCompile(`^[a-z0-9_]{4,32}$`)

// Password length bounds, in characters (NIST SP 800-63B: at least 8, long
// passphrases welcome, never truncated).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// ValidUsername reports whether s has the form of a username.
func ValidUsername(s string) bool { return usernamePattern.MatchString(s) }

// wechatPrefix begins the names the gateway derives for WeChat accounts.
const wechatPrefix = "wx_"

// reservedForm reports whether a name of the username form is one nobody
// may choose: an id's form (an id always means the id, so such a name would
// shadow a user's id wherever either is accepted) or a name the gateway
// derives for WeChat accounts.
func reservedForm(name string) bool {
	return resources.ValidID(name) || strings.HasPrefix(name, wechatPrefix)
}

// ValidateCredentials checks a new account's username and password against
// the rules of the contract.
func ValidateCredentials(username, password string) error {
	if err := validateUsername(username); err != nil {
		return err
	}
	return validatePassword(username, password)
}

// validateUsername checks the form of a new account's username.
func validateUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return resources.Errorf(resources.EVALUE, "username must be 4 to 32 characters of a-z, 0-9 and _")
	}
	if reservedForm(username) {
		return resources.Errorf(resources.EVALUE, "username cannot be 24 hexadecimal digits (the form of an id) or begin with %s (WeChat accounts)", wechatPrefix)
	}
	return nil
}

// validatePassword checks a new password of an account with the username.
func validatePassword(username, password string) error {
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) || n < MinPasswordLen || n > MaxPasswordLen {
		return resources.Errorf(resources.EVALUE, "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	if password == username {
		return resources.Errorf(resources.EVALUE, "password cannot be the username")
	}
	return nil
}

// blocklist is the set of common passwords refused for new passwords.
type blocklist map[string]struct{}

func loadBlocklist() blocklist {
	b := make(blocklist, 10_000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswords))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			b[w] = struct{}{}
		}
	}
	return b
}

// check applies the password rules to a new password of an account with
// the username (a new one's or an existing one's).
func (b blocklist) check(username, password string) error {
	if err := validatePassword(username, password); err != nil {
		return err
	}
	if _, common := b[strings.ToLower(password)]; common {
		return resources.Errorf(resources.EVALUE, "password is too common; choose another")
	}
	return nil
}
