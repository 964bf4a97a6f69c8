// Package crypto holds the gateway's cryptography: password hashing now, and
// the keyring, encrypted payloads, tokens and record signatures as they come.
// It imports nothing of the gateway's own, so every other package may use it.
package crypto
