package main

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// arrivalReader reads a TCP connection with recvmsg and keeps the kernel's
// receive timestamp (SO_TIMESTAMPNS) of the latest data read: an event's
// arrival at the subscriber's socket, whatever the load generator's own
// goroutines wait for after it.
type arrivalReader struct {
	raw  syscall.RawConn
	oob  []byte
	last int64 // Unix nanoseconds
}

func newArrivalReader(c net.Conn) io.Reader {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return &clockReader{r: c}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return &clockReader{r: c}
	}
	var serr error
	_ = raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if serr != nil {
		return &clockReader{r: c}
	}
	return &arrivalReader{raw: raw, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
}

func (a *arrivalReader) Read(p []byte) (int, error) {
	var n, oobn int
	var rerr error
	err := a.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, a.oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 {
		return 0, io.EOF
	}
	a.last = time.Now().UnixNano()
	if msgs, err := syscall.ParseSocketControlMessage(a.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				a.last = ts.Nano()
			}
		}
	}
	return n, nil
}

func (a *arrivalReader) arrival() int64 { return a.last }
