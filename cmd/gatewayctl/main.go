// Command gatewayctl is the operator's CLI for the gateway: rotate the
// keyring, encrypt a payload for a gateway so curl users can call the routes
// that take encrypted credentials, bootstrap a DBA and set levels, check a
// deployment, and back up and restore a gateway.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tnt/gateway/crypto"
)

const usage = `gatewayctl: the gateway operator's tool

Usage:
  gatewayctl encrypt [--gateway URL] [--block] key=value ...
      Encrypt a payload (with ts and nonce) to the gateway's public key and
      print it. Example:
        curl -H "Authorization: tnt-user-auth-scheme $(gatewayctl encrypt username=alice password='...')" \
          http://localhost:8080/api/auth
  gatewayctl backup --out FILE [--gateway URL] [--user NAME] [--password-stdin]
      Download a full backup archive (level 0), with a progress display.
  gatewayctl restore --in FILE --yes [--gateway URL] [--user NAME] [--password-stdin]
      Upload an archive; the gateway verifies it whole before it replaces
      anything, and refuses a truncated or altered one.
  gatewayctl bootstrap --user NAME [--password-stdin]
      Create a level-0 user in the configured store (GATEWAY_* variables,
      as the gateway reads them).
  gatewayctl set-level USERNAME LEVEL
      Set any user's level (0 DBA … 5 Guest) and end their sessions.
  gatewayctl reset-password [--password-stdin] USERNAME
      Set a new password for a user (from standard input, else
      GATEWAY_NEW_PASSWORD), end every session of the user, and audit it.
  gatewayctl reset-mfa USERNAME
      Remove a user's second factor (a lost authenticator and recovery
      codes), end every session of the user, and audit it.
  gatewayctl sweep-files [--grace 1h]
      Remove the stored files no document names (left by a crash in the
      middle of an upload), as a running gateway does every 10 minutes.
  gatewayctl doctor [--gateway URL]
      Check a deployment: configuration, stores, Redis eviction policy,
      keyring, policy and resources files, the mail server (connected,
      TLS and credentials, nothing sent), and the clock against a gateway.
  gatewayctl keygen --keyring FILE [--rsa-bits 3072]
      Create a new keyring file (for a secret shared by replicas).
  gatewayctl rotate-keys [--keyring FILE] [--grace 168h]
      Make new payload and signing keys current. The previous keys keep
      working for the grace period; running gateways pick the change up
      from the shared file within 30 seconds.

Run 'gatewayctl COMMAND --help' for a command's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // --help: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "gatewayctl:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	switch args[0] {
	case "encrypt":
		return encrypt(args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "rotate-keys":
		return rotateKeys(args[1:], stdout, stderr)
	case "bootstrap":
		return bootstrap(args[1:], stdin, stdout, stderr)
	case "set-level":
		return setLevel(args[1:], stdout, stderr)
	case "reset-password":
		return resetPassword(args[1:], stdin, stdout, stderr)
	case "reset-mfa":
		return resetMFA(args[1:], stdout, stderr)
	case "sweep-files":
		return sweepFiles(args[1:], stdout, stderr)
	case "doctor":
		return doctor(args[1:], stdout, stderr)
	case "backup":
		return backup(args[1:], stdin, stdout, stderr)
	case "restore":
		return restore(args[1:], stdin, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (see gatewayctl --help)", args[0])
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func encrypt(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("encrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("gateway", envOr("GATEWAY_URL", "http://localhost:8080"), "the gateway's base URL")
	block := fs.Bool("block", false, "one RSA-OAEP block (base64) instead of a JWE")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: gatewayctl encrypt [--gateway URL] [--block] key=value ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	fields := map[string]any{}
	for _, kv := range fs.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", kv)
		}
		fields[k] = v
	}
	if len(fields) == 0 {
		return errors.New("nothing to encrypt: give key=value pairs, such as username=alice password=secret")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := crypto.FetchPublicKey(ctx, &http.Client{Timeout: 10 * time.Second}, *base)
	if err != nil {
		return fmt.Errorf("cannot read the gateway's public key: %w", err)
	}
	plain, err := crypto.StampPayload(fields, time.Now())
	if err != nil {
		return err
	}
	var out string
	if *block {
		out, err = crypto.SealBlock(info, plain)
	} else {
		out, err = crypto.SealPayload(info, plain)
	}
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	fmt.Fprintln(stdout, out)
	return nil
}

func rotateKeys(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate-keys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := envOr("GATEWAY_KEYRING_FILE", filepath.Join(envOr("GATEWAY_DATA_DIR", "./data"), "keyring.json"))
	path := fs.String("keyring", def, "the keyring file the gateways use")
	grace := fs.Duration("grace", 168*time.Hour, "how long the previous keys keep working")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(*path); err != nil {
		return fmt.Errorf("no keyring at %s (start the gateway once, or pass --keyring): %w", *path, err)
	}
	k, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: *path, Grace: *grace})
	if err != nil {
		return err
	}
	before := k.PayloadPublicKey().Kid
	if err := k.Rotate(); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]string{"previous_kid": before, "current_kid": k.PayloadPublicKey().Kid})
	fmt.Fprintln(stdout, string(b))
	return nil
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("keyring", "", "the keyring file to create (required)")
	bits := fs.Int("rsa-bits", 3072, "size of the payload-decryption key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("give --keyring FILE")
	}
	if _, err := os.Stat(*path); err == nil {
		return fmt.Errorf("%s exists; use rotate-keys to replace its keys", *path)
	}
	k, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: *path, RSABits: *bits, Grace: 168 * time.Hour})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s (payload key %s)\n", *path, k.PayloadPublicKey().Kid)
	return nil
}
