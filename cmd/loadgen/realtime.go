package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The realtime comparison: the same subscribers on the gateway and on
// PocketBase, one system at a time. N event streams are opened from 20
// loopback addresses (the gateway's default bound is 1,000 per address)
// and subscribed; then one write a second is fanned out, first to every
// stream, then to a filtered tenth of them (each stream follows one of ten
// tenants). Delivery latency runs from the moment a write is sent to the
// event's arrival at the subscriber's socket (the kernel's receive
// timestamp, so the clients' own scheduling adds nothing). Memory per idle stream
// is the server's resident memory grown by opening the idle streams,
// divided by their number; CPU per delivered event is the server's CPU
// time during the writes divided by the events delivered.

// rtOptions are the comparison's settings.
type rtOptions struct {
	streams    int
	writes     int
	pocketbase string // a built PocketBase, or "" to build it from cmd/loadgen/pocketbase
	cpuProfile string // the gateway child's CPU profile, when set
	only       string // "gateway" or "pocketbase": run one system
	out        string // the report to write the comparison's section of
}

// rtServer is one system under comparison.
type rtServer interface {
	name() string
	pid() int
	// dial opens a stream from local and returns its client id; events
	// then go to onEvent.
	dial(local string, onData func(data []byte, at int64)) (clientID string, conn net.Conn, err error)
	// subscribe makes a stream follow every item (tenant < 0) or one
	// tenant's items.
	subscribe(clientID string, tenant int) error
	// write creates an item.
	write(name string, tenant int) error
	stop()
}

// rtResult is one system's figures.
type rtResult struct {
	system          string
	memPerStream    float64 // bytes
	all, tenth      rtRun
	streams, writes int
}

type rtRun struct {
	p50, p99  time.Duration
	delivered int
	expected  int
	cpuPerEv  time.Duration
}

func runRealtime(o rtOptions, stdout io.Writer) error {
	started := time.Now()
	raiseFileLimit(stdout)
	// Arrivals are the kernel's receive timestamps, so the clients' own
	// goroutines may lag without changing a figure: they get one core, and
	// the server under test keeps the other to itself whenever it needs
	// more than one.
	procs := runtime.GOMAXPROCS(1)
	var results []rtResult
	if o.only != "pocketbase" {
		gw, err := startRealtimeGateway(o.cpuProfile)
		if err != nil {
			return err
		}
		r, err := measureRealtime(gw, o, stdout)
		gw.stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if o.only != "gateway" {
		pb, err := startPocketBase(o.pocketbase)
		if err != nil {
			return err
		}
		r, err := measureRealtime(pb, o, stdout)
		pb.stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	runtime.GOMAXPROCS(procs) // the report names the machine as the servers had it
	text := realtimeMarkdown(o, results, started)
	fmt.Fprintln(stdout, text)
	if o.out != "" {
		return writeReport(o.out, text, true)
	}
	return nil
}

// raiseFileLimit lifts the open-file limit to the hard limit: every stream
// is a descriptor here and one in the server (which inherits it).
func raiseFileLimit(stdout io.Writer) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
			fmt.Fprintf(stdout, "open-file limit raised to %d\n", lim.Cur)
		}
	}
}

func measureRealtime(s rtServer, o rtOptions, stdout io.Writer) (rtResult, error) {
	res := rtResult{system: s.name(), streams: o.streams, writes: o.writes}
	// Warm up: a stream and a write, so lazily built parts exist before
	// the memory is read.
	warm := make(chan struct{}, 1)
	id, conn, err := s.dial("127.0.0.1", func([]byte, int64) {
		select {
		case warm <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return res, fmt.Errorf("%s: warm-up stream: %w", s.name(), err)
	}
	if err := s.subscribe(id, -1); err != nil {
		return res, err
	}
	if err := s.write("warm", 0); err != nil {
		return res, err
	}
	select {
	case <-warm:
	case <-time.After(10 * time.Second):
		return res, fmt.Errorf("%s: the warm-up event never came", s.name())
	}
	_ = conn.Close()
	before := rss(s.pid())

	// One slot per write and per stream: when the event arrived.
	const maxWrites = 64
	n := o.streams
	var sent [2 * maxWrites]atomic.Int64
	recv := make([][]atomic.Int64, 2*maxWrites)
	for i := range recv {
		recv[i] = make([]atomic.Int64, n)
	}
	ids := make([]string, n)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			local := "127.0.0." + strconv.Itoa(2+i%20)
			id, c, err := s.dial(local, func(data []byte, at int64) {
				k := writeIndex(data)
				if k >= 0 && k < len(recv) {
					recv[k][i].Store(at)
				}
			})
			if err != nil {
				errs <- err
				return
			}
			ids[i], conns[i] = id, c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	select {
	case err := <-errs:
		return res, fmt.Errorf("%s: opening %d streams: %w", s.name(), n, err)
	default:
	}
	subscribeAll := func(tenantOf func(i int) int) error {
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := s.subscribe(ids[i], tenantOf(i)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return fmt.Errorf("%s: subscribing: %w", s.name(), err)
		default:
			return nil
		}
	}
	if err := subscribeAll(func(int) int { return -1 }); err != nil {
		return res, err
	}
	after := rss(s.pid())
	res.memPerStream = float64(after-before) / float64(n)
	fmt.Fprintf(stdout, "%s: %d streams open and subscribed; resident memory %d MiB -> %d MiB (%.1f KiB per idle stream)\n",
		s.name(), n, before>>20, after>>20, res.memPerStream/1024)

	phase := func(first int, tenant func(k int) int, receivers int) (rtRun, error) {
		cpu0, self0 := cpuTime(s.pid()), cpuTime(os.Getpid())
		for k := first; k < first+o.writes; k++ {
			next := time.Now().Add(time.Second)
			sent[k].Store(time.Now().UnixNano())
			if err := s.write("w"+strconv.Itoa(k), tenant(k)); err != nil {
				return rtRun{}, err
			}
			time.Sleep(time.Until(next))
		}
		// The last events get a second more to arrive.
		time.Sleep(time.Second)
		cpu := cpuTime(s.pid()) - cpu0
		fmt.Fprintf(stdout, "%s: the server spent %v of CPU, the load generator %v\n", s.name(), cpu, cpuTime(os.Getpid())-self0)
		var lat []time.Duration
		for k := first; k < first+o.writes; k++ {
			for i := range n {
				if at := recv[k][i].Load(); at != 0 {
					lat = append(lat, time.Duration(at-sent[k].Load()))
				}
			}
		}
		run := rtRun{delivered: len(lat), expected: receivers * o.writes}
		if len(lat) > 0 {
			slices.Sort(lat)
			run.p50, run.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
			run.cpuPerEv = cpu / time.Duration(len(lat))
		}
		return run, nil
	}
	if res.all, err = phase(0, func(int) int { return 0 }, n); err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "%s, to all: %s\n", s.name(), res.all)
	if err := subscribeAll(func(i int) int { return i % 10 }); err != nil {
		return res, err
	}
	if res.tenth, err = phase(maxWrites, func(k int) int { return k % 10 }, n/10); err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "%s, to a tenth: %s\n", s.name(), res.tenth)
	return res, nil
}

func (r rtRun) String() string {
	return fmt.Sprintf("p50 %v, p99 %v, %d of %d events delivered, CPU %v per event", r.p50.Round(100*time.Microsecond),
		r.p99.Round(100*time.Microsecond), r.delivered, r.expected, r.cpuPerEv.Round(100*time.Nanosecond))
}

// writeIndex finds the write an event's data is about: its record's name
// is "w<k>".
func writeIndex(data []byte) int {
	i := bytes.Index(data, []byte(`"name":"w`))
	if i < 0 {
		return -1
	}
	rest := data[i+len(`"name":"w`):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return -1
	}
	k, err := strconv.Atoi(string(rest[:end]))
	if err != nil {
		return -1
	}
	return k
}

// rss reads a process's resident memory, in bytes.
func rss(pid int) int64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime reads a process's user and system time.
func cpuTime(pid int) time.Duration {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	// The command name may hold spaces; the fields start after its ")".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// sseDial opens an event stream over a raw connection from local, sends
// the request and reads events in the background: onEvent receives each
// event's name, data and arrival (Unix nanoseconds).
func sseDial(addr, local, path string, header http.Header, onEvent func(event string, data []byte, at int64)) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n", path, addr)
	_ = header.Write(&req)
	req.WriteString("\r\n")
	if _, err := c.Write(req.Bytes()); err != nil {
		_ = c.Close()
		return nil, err
	}
	in := newArrivalReader(c).(arrivals)
	r := bufio.NewReaderSize(in, 2048)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		_ = c.Close()
		return nil, fmt.Errorf("stream: %q %v", strings.TrimSpace(status), err)
	}
	chunked := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		if strings.EqualFold(strings.TrimSpace(line), "Transfer-Encoding: chunked") {
			chunked = true
		}
		if line == "\r\n" {
			break
		}
	}
	// PocketBase's streams are served by net/http, which chunks them; the
	// gateway's end with the connection.
	var body io.Reader = r
	if chunked {
		body = httputil.NewChunkedReader(r)
	}
	go func() {
		lines := bufio.NewReaderSize(body, 2048)
		var event string
		for {
			line, err := lines.ReadSlice('\n')
			if err != nil {
				return
			}
			switch {
			case bytes.HasPrefix(line, []byte("event:")):
				event = string(bytes.TrimSpace(line[len("event:"):]))
			case bytes.HasPrefix(line, []byte("data:")):
				onEvent(event, bytes.TrimSpace(line[len("data:"):]), in.arrival())
			case len(bytes.TrimSpace(line)) == 0:
				event = ""
			}
		}
	}()
	return c, nil
}

// gatewayRT is the gateway under comparison: a child process serving the
// embedded default with a discoverable "item" resource; streams are a
// guest's.
type gatewayRT struct {
	proc *gatewayProc
	addr string
	auth string
	http *http.Client
}

func startRealtimeGateway(cpuProfile string) (*gatewayRT, error) {
	dir, err := os.MkdirTemp("", "realtime-resources-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "resources.json")
	decl := `{"resources":[{"name":"item","discoverable":true,"public":["name","tenant"],
	  "fields":{"name":{"type":"string","required":true,"maxLength":100},"tenant":{"type":"int","indexed":true}}}]}`
	if err := os.WriteFile(file, []byte(decl), 0o600); err != nil {
		return nil, err
	}
	_ = os.Setenv("GATEWAY_RESOURCES_FILE", file) // read by the child (gatewayConfig)
	g, err := startGateway("", cpuProfile, false, true)
	_ = os.Unsetenv("GATEWAY_RESOURCES_FILE")
	if err != nil {
		return nil, err
	}
	cred := base64.StdEncoding.EncodeToString([]byte(rootUser + ":" + rootPass))
	return &gatewayRT{proc: g, addr: strings.TrimPrefix(g.url, "http://"), auth: "tnt-admin-auth-scheme realm=\"admin\", credentials=\"" + cred + "\"",
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}, nil
}

func (g *gatewayRT) name() string { return "gateway" }
func (g *gatewayRT) pid() int     { return g.proc.pid }
func (g *gatewayRT) stop()        { g.proc.stop() }

func (g *gatewayRT) dial(local string, onData func([]byte, int64)) (string, net.Conn, error) {
	return dialStream(g.addr, local, "connected", "client_id", func(event string) bool { return event == "create" }, onData)
}

// dialStream opens a stream and waits for its first event (named connect,
// whose data names the client id in idField); the change events after it
// go to onData.
func dialStream(addr, local, connect, idField string, change func(event string) bool, onData func([]byte, int64)) (string, net.Conn, error) {
	ids := make(chan string, 1)
	c, err := sseDial(addr, local, "/api/realtime", http.Header{}, func(event string, data []byte, at int64) {
		switch {
		case event == connect:
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			id, _ := m[idField].(string)
			ids <- id
		case change(event):
			onData(data, at)
		}
	})
	if err != nil {
		return "", nil, err
	}
	select {
	case id := <-ids:
		return id, c, nil
	case <-time.After(10 * time.Second):
		_ = c.Close()
		return "", nil, fmt.Errorf("no %s event", connect)
	}
}

func (g *gatewayRT) subscribe(clientID string, tenant int) error {
	sub := `{"resource":"item"}`
	if tenant >= 0 {
		sub = `{"resource":"item","query":{"tenant":` + strconv.Itoa(tenant) + `}}`
	}
	return g.call("PUT", "/api/realtime/subscriptions", `{"client_id":"`+clientID+`","subscriptions":[`+sub+`]}`, "")
}

func (g *gatewayRT) write(name string, tenant int) error {
	return g.call("POST", "/api/item", `{"operation":"create","data":{"name":"`+name+`","tenant":`+strconv.Itoa(tenant)+`}}`, g.auth)
}

func (g *gatewayRT) call(method, path, body, auth string) error {
	return jsonCall(g.http, method, "http://"+g.addr+path, body, auth, nil)
}

// jsonCall sends a JSON request and decodes a successful answer into out
// (when not nil).
func jsonCall(client *http.Client, method, url, body, auth string, out any) error {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func realtimeMarkdown(o rtOptions, rs []rtResult, started time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Realtime: event streams beside PocketBase\n\nMeasured %s on %s.\n\n", started.UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `make bench-realtime` (`go run ./cmd/loadgen -realtime -streams %d -writes %d -out docs/PERFORMANCE.md`).\n\n", o.streams, o.writes)
	b.WriteString("Each system serves in a process of its own on the embedded default (the gateway on SQLite, PocketBase v0.36.8 built from " +
		"its module in `cmd/loadgen/pocketbase`), one after the other, on the same two cores as the load generator. The same " +
		"subscribers open guest streams from 20 loopback addresses and follow one public collection; a write a second (over HTTP, " +
		"by an administrator) goes first to every stream, then to a filtered tenth (each stream follows one of ten tenants). " +
		"Delivery latency runs from the moment the write is sent to the event's arrival at the subscriber's socket, read from " +
		"the kernel's receive timestamp (`SO_TIMESTAMPNS`), so the load generator's own scheduling (it keeps one core) adds nothing. " +
		"Memory per idle stream is the server's resident memory grown by the open, subscribed streams, divided by their number; " +
		"CPU per delivered event is the server's CPU time during the writes divided by the events delivered.\n")
	b.WriteString("\n| system | streams | writes (1/s) | fan-out | p50 | p99 | delivered | memory per idle stream | CPU per delivered event |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		for _, x := range []struct {
			label string
			run   rtRun
		}{{"every stream", r.all}, {"a filtered tenth", r.tenth}} {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %d of %d | %.1f KiB | %.1f µs |\n", r.system, r.streams, r.writes, x.label,
				ms(x.run.p50), ms(x.run.p99), x.run.delivered, x.run.expected, r.memPerStream/1024, us(x.run.cpuPerEv))
		}
	}
	if len(rs) > 0 && rs[0].system == "gateway" {
		g := rs[0]
		b.WriteString("\nTargets:\n\n")
		fmt.Fprintf(&b, "- p99 to all %d streams ≤ 100 ms (%s): %s\n", g.streams, ms(g.all.p99), met(g.all.p99 <= 100*time.Millisecond))
		fmt.Fprintf(&b, "- memory per idle stream ≤ 16 KB (%.1f KiB): %s\n", g.memPerStream/1024, met(g.memPerStream <= 16*1024))
		if len(rs) > 1 {
			p := rs[1]
			ahead := g.all.p50 < p.all.p50 && g.all.p99 < p.all.p99 && g.tenth.p50 < p.tenth.p50 && g.tenth.p99 < p.tenth.p99 &&
				g.memPerStream < p.memPerStream && g.all.cpuPerEv < p.all.cpuPerEv && g.tenth.cpuPerEv < p.tenth.cpuPerEv
			fmt.Fprintf(&b, "- ahead of %s on every figure: %s\n", p.system, met(ahead))
		}
	}
	return b.String()
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// escape is url.QueryEscape, named for what PocketBase's topics need.
func escape(s string) string { return url.QueryEscape(s) }
