//go:build !linux

package main

import (
	"errors"
	"runtime"
)

// Pinning to cores needs Linux's affinity calls; elsewhere the harness
// measures on shared cores only (run it with -pin=false).

var errNoPinning = errors.New("pinning to cores needs Linux; run with -pin=false")

func serverCPUs() int { return runtime.NumCPU() }

func pinLoadGenerator() (func(), error) { return nil, errNoPinning }

func pinServers() error { return errNoPinning }

func pinServerProcess(int) error { return errNoPinning }
