package main

import (
	"io"
	"time"
)

// clockReader notes when each read returned, where the kernel's receive
// timestamps cannot be had.
type clockReader struct {
	r    io.Reader
	last int64
}

func (c *clockReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.last = time.Now().UnixNano()
	return n, err
}

func (c *clockReader) arrival() int64 { return c.last }

// arrivals is a reader that tells when the data it last returned arrived.
type arrivals interface {
	io.Reader
	arrival() int64
}
