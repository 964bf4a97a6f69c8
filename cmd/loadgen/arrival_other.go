//go:build !linux

package main

import (
	"io"
	"net"
)

func newArrivalReader(c net.Conn) io.Reader { return &clockReader{r: c} }
