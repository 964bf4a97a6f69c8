// Command loadgen is the gateway's load harness. It starts the gateway in
// this process (the embedded default, and again on Redis when redis-server
// is on the machine), seeds it, and drives it over loopback keep-alive HTTP
// at a fixed concurrency for a fixed time per scenario. In the same run it
// measures a baseline: a bare Gin handler returning the same 20-document
// JSON bytes from memory, the practical limit of the HTTP stack. It prints
// (and with -out writes) a Markdown table of requests/s, p50/p99 latency,
// allocations per request and the ratio to the baseline.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

type options struct {
	duration    time.Duration
	concurrency int
	docs        int
	growth      bool
	only        string
	redis       bool
	out         string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each scenario runs")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent keep-alive connections")
	flag.IntVar(&o.docs, "docs", 2000, "documents seeded before the throughput scenarios")
	flag.StringVar(&o.only, "only", "", "run only the scenarios whose name starts with this")
	flag.BoolVar(&o.growth, "growth", true, "also measure cost growth at 1k, 10k and 100k documents and a login flood")
	redis := flag.String("redis", "auto", "auto: also run on Redis when redis-server is installed; off: never")
	flag.StringVar(&o.out, "out", "", "write the report (Markdown) to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	_, err := exec.LookPath("redis-server")
	o.redis = *redis == "auto" && err == nil
	if err := run(o, os.Stdout); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(o options, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A real JSON log line per request, formatted as in production and
	// written nowhere (slog.DiscardHandler would skip the formatting cost).
	log := slog.New(slog.NewJSONHandler(io.Discard, nil)) //nolint:sloglint // see above
	rep := &report{opts: o, started: time.Now()}

	base, stop, err := startBaseline()
	if err != nil {
		return err
	}
	defer stop()

	emb, err := startGateway(ctx, log, "")
	if err != nil {
		return err
	}
	defer emb.stop()
	fix, err := seed(emb.url, o.docs)
	if err != nil {
		return err
	}
	setBaselineBody(base, fix.query20Body)
	fmt.Fprintf(stdout, "seeded %d documents; baseline body %d bytes\n", o.docs, len(fix.query20Body))

	d := driver{concurrency: o.concurrency, duration: o.duration}
	baseline := d.measure("baseline: bare Gin, same 20 documents from memory", getReq(base.url+"/baseline", ""))
	rep.add("", baseline, baseline)
	for _, sc := range fix.scenarios(emb.url) {
		if !strings.HasPrefix(sc.name, o.only) {
			continue
		}
		r := d.measure(sc.name, sc.next)
		rep.add("embedded", r, baseline)
		fmt.Fprintln(stdout, r.line(baseline))
	}
	// The cost of authentication and authorization, one request at a time
	// (under load, p50 is mostly queueing): GET of 20 documents with a bearer
	// token and the same GET on discovery without credentials.
	withAuth, _, _ := sequential(500, getReq(emb.url+"/api/gym?find=20", fix.bearer))
	without, _, _ := sequential(500, getReq(emb.url+"/api/discovery/gym?find=20", ""))
	rep.authCost = withAuth - without
	fmt.Fprintf(stdout, "one at a time: p50 %v with a bearer token, %v without credentials\n", withAuth, without)
	loginP50, _, refused := sequential(40, fix.loginsFromTheEnd(emb.url))
	if refused > 0 {
		return fmt.Errorf("%d of 40 logins one at a time were refused", refused)
	}
	rep.loginP50 = loginP50
	fmt.Fprintf(stdout, "one at a time: login p50 %v\n", loginP50)
	if o.redis {
		rs, err := startRedis()
		if err != nil {
			return err
		}
		defer rs.stop()
		red, err := startGateway(ctx, log, rs.url())
		if err != nil {
			return err
		}
		defer red.stop()
		rfix, err := seed(red.url, o.docs)
		if err != nil {
			return err
		}
		for _, sc := range rfix.scenarios(red.url)[:3] {
			r := d.measure(sc.name, sc.next)
			rep.add("redis", r, baseline)
			fmt.Fprintln(stdout, r.line(baseline))
		}
	}
	if o.growth {
		g, err := growth(ctx, log, stdout)
		if err != nil {
			return err
		}
		rep.growth = g
	}
	text := rep.markdown()
	fmt.Fprintln(stdout, text)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(text), 0o644)
	}
	return nil
}

// machine describes where the run happened.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
