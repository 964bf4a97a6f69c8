// Package mail sends the gateway's mails (email verification, password
// resets, invitations) through an SMTP server: the server named by a URL
// (smtp:// with STARTTLS whenever offered, smtps:// with TLS from the
// start), messages in plain text and HTML from templates an operator may
// replace, and an outbox that retries a failed delivery and counts what it
// could not deliver. It imports nothing of the gateway's own.
package mail
