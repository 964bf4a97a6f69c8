package server

import (
	"fmt"
	"log/slog"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/resources/mail"
)

// openMailer builds the mailer GATEWAY_SMTP_URL names, or nil without one.
// Its templates are read and tried now, so a broken one stops the start.
func openMailer(cfg config.Config, log *slog.Logger) (*mail.Mailer, error) {
	if cfg.SMTPURL == "" {
		return nil, nil
	}
	srv, err := mail.ParseURL(cfg.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_SMTP_URL: %w", err)
	}
	tpl, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_MAIL_TEMPLATES: %w", err)
	}
	m, err := mail.New(mail.Config{Server: srv, From: cfg.MailFrom, PublicURL: publicURL(cfg, cfg.Addr), Templates: tpl, Log: log})
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_MAIL_FROM or GATEWAY_PUBLIC_URL: %w", err)
	}
	log.Info("mail goes through " + srv.String())
	return m, nil
}

// levels turns configured level numbers into ints.
func levels(list []int64) []int {
	out := make([]int, len(list))
	for i, l := range list {
		out[i] = int(l)
	}
	return out
}
