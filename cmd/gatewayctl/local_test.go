package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tnt/gateway/resources/mail/mailtest"
)

func TestBootstrapSetLevelDoctor(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEWAY_DATA_DIR", dir)
	var out, errOut bytes.Buffer
	if err := run([]string{"bootstrap", "--user", "first_dba", "--password-stdin"}, strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Error("a 5-character password was accepted")
	}
	if err := run([]string{"bootstrap", "--user", "first_dba", "--password-stdin"}, strings.NewReader("a fine dba password\n"), &out, &errOut); err != nil {
		t.Fatalf("bootstrap: %v %s", err, errOut.String())
	}
	err := run([]string{"bootstrap", "--user", "first_dba", "--password-stdin"}, strings.NewReader("a fine dba password\n"), &out, &errOut)
	// Refused, and never with advice to promote the account that holds
	// the name: whoever registered it may not be the operator.
	if err == nil || !strings.Contains(err.Error(), "choose another name") || strings.Contains(err.Error(), "set-level") {
		t.Errorf("bootstrap of a taken name: %v", err)
	}
	out.Reset()
	if err := run([]string{"set-level", "first_dba", "2"}, nil, &out, &errOut); err != nil {
		t.Fatalf("set-level: %v", err)
	}
	if !strings.Contains(out.String(), "level 0 (DBA) → 2 (Admin)") {
		t.Errorf("set-level output: %s", out.String())
	}
	for _, bad := range [][]string{{"set-level", "nobody_here", "2"}, {"set-level", "first_dba", "7"}, {"set-level", "first_dba"}} {
		if err := run(bad, nil, &out, &errOut); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	out.Reset()
	if err := run([]string{"doctor"}, nil, &out, &errOut); err != nil {
		t.Fatalf("doctor on a healthy embedded setup: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok    configuration", "ok    document store", "ok    session store", "keyring"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor report lacks %q:\n%s", want, out.String())
		}
	}
	// A mail server that answers, then one that does not.
	box := mailtest.Start(t, mailtest.Options{})
	t.Setenv("GATEWAY_SMTP_URL", box.URL())
	t.Setenv("GATEWAY_MAIL_FROM", "noreply@example.com")
	out.Reset()
	if err := run([]string{"doctor"}, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "ok    mail server") {
		t.Errorf("doctor with a mail server: %v\n%s", err, out.String())
	}
	if len(box.Messages()) != 0 {
		t.Error("the doctor sent a mail")
	}
	box.Stop()
	out.Reset()
	if err := run([]string{"doctor"}, nil, &out, &errOut); err == nil || !strings.Contains(out.String(), "FAIL  mail server") {
		t.Errorf("doctor with the mail server down: %v\n%s", err, out.String())
	}
	t.Setenv("GATEWAY_SMTP_URL", "")
	t.Setenv("GATEWAY_MONGO_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300")
	out.Reset()
	err = run([]string{"doctor"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "FAIL  document store") {
		t.Errorf("doctor with an unreachable MongoDB: %v\n%s", err, out.String())
	}
}
