// Package resources is the gateway's domain: resource schemas and their
// registry, the strict parsing and validation of operation envelopes, the
// operations themselves, accounts and sessions, the wallet, administration,
// backups, and the storage interfaces that the backends in its sub-packages
// implement (sqlite, mongo; session/redis, session/sqlite). It knows nothing
// of HTTP and builds no backend query; backends never see client JSON.
package resources
