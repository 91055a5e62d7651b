// Package faults holds Gatekey's fault tests: a database that restarts
// under load, a server killed mid-activation, a Telegram that fails for a
// minute. Each runs on a PostgreSQL cluster of its own, never a shared
// one, on loopback, and is bounded in time.
package faults
