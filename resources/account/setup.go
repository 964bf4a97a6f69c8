package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/tnt/gateway/resources"
)

// Setup is the first run's one-time link: while no level-0 user exists, a
// token shown once to whoever reads the start-up log lets the console
// create the first DBA. The token is single-use, expires, and is worthless
// once any level-0 user exists. Only its hash is kept.
type Setup struct {
	svc     *Service
	now     func() time.Time
	mu      sync.Mutex
	hash    [sha256.Size]byte
	expires time.Time
	// state: open (usable), busy (a creation is running), spent.
	state setupState
}

type setupState int

const (
	setupOpen setupState = iota
	setupBusy
	setupSpent
)

// SetupRequest is what the setup form sends, and the address it comes
// from (for the audit trail).
type SetupRequest struct {
	Token, Username, Password string
	IP                        string
}

// NewSetup makes a setup token valid for ttl when no level-0 user exists;
// otherwise it returns a nil Setup and no token.
func (a *Service) NewSetup(ctx context.Context, ttl time.Duration) (*Setup, string, error) {
	exists, err := a.accounts.HasLevelZero(ctx)
	if err != nil || exists {
		return nil, "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	return &Setup{svc: a, now: a.accounts.now, hash: sha256.Sum256([]byte(token)), expires: a.accounts.now().Add(ttl)}, token, nil
}

// Pending reports whether the setup can still be completed with token. To
// anyone without the link's token it answers false, so it tells nobody
// else whether the deployment has a DBA yet.
func (s *Setup) Pending(ctx context.Context, token string) (bool, error) {
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	usable := subtle.ConstantTimeCompare(sum[:], s.hash[:]) == 1 && s.state == setupOpen && s.now().Before(s.expires)
	s.mu.Unlock()
	if !usable {
		return false, nil
	}
	exists, err := s.svc.accounts.HasLevelZero(ctx)
	return !exists, err
}

// ErrSetupLink is the one answer to every setup token that cannot be used,
// whatever the reason, so a caller learns nothing from it.
func ErrSetupLink() error {
	return resources.Errorf(resources.EAUTHENTICATION, "the setup link is not valid: it was used, has expired or was mistyped; use `gatewayctl bootstrap` instead")
}

// Complete creates the first DBA with the token of the link. The token is
// taken before the password is hashed, so two requests racing with it
// cannot both create a user; it is given back only when the creation fails
// on the request's own input (a taken name) and no level-0 user exists.
func (s *Setup) Complete(ctx context.Context, req SetupRequest) (resources.Principal, error) {
	if err := ValidateCredentials(req.Username, req.Password); err != nil {
		return resources.Principal{}, err
	}
	if err := s.svc.CheckNewPassword(req.Username, req.Password); err != nil {
		return resources.Principal{}, err
	}
	if err := s.take(req.Token); err != nil {
		return resources.Principal{}, err
	}
	p, err := s.create(ctx, req)
	if err != nil {
		s.giveBack(ctx)
		return resources.Principal{}, err
	}
	return p, nil
}

// take claims the token for one creation.
func (s *Setup) take(token string) error {
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if subtle.ConstantTimeCompare(sum[:], s.hash[:]) != 1 || s.state != setupOpen || !s.now().Before(s.expires) {
		return ErrSetupLink()
	}
	s.state = setupBusy
	return nil
}

func (s *Setup) create(ctx context.Context, req SetupRequest) (resources.Principal, error) {
	p, err := s.svc.accounts.CreateFirstDBA(ctx, req.Username, req.Password, FirstDBAVia{Action: "bootstrap", IP: req.IP, Means: "setup_link"})
	if err != nil {
		return resources.Principal{}, err
	}
	s.mu.Lock()
	s.state = setupSpent
	s.mu.Unlock()
	return p, nil
}

// giveBack reopens the token after a failed creation, unless a level-0 user
// now exists (made by the CLI meanwhile) or the store cannot tell.
func (s *Setup) giveBack(ctx context.Context) {
	exists, err := s.svc.accounts.HasLevelZero(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != setupBusy {
		return
	}
	if err != nil || exists {
		s.state = setupSpent
		return
	}
	s.state = setupOpen
}
