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
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type options struct {
	duration    time.Duration
	concurrency int
	docs        int
	growth      bool
	ladder      bool
	only        string
	redis       bool
	out         string
	cpuProfile  string
	pin         bool
	realtime    rtOptions
	rtOnly      bool
	files       filesOptions
	filesOnly   bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each scenario runs")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent keep-alive connections")
	flag.IntVar(&o.docs, "docs", 2000, "documents seeded before the throughput scenarios")
	flag.StringVar(&o.only, "only", "", "run only the scenarios whose name starts with this")
	flag.BoolVar(&o.growth, "growth", true, "also measure cost growth at 1k, 10k and 100k documents and a login flood")
	flag.BoolVar(&o.ladder, "ladder", true, "also measure the ablation ladder, from a bare handler to the gateway")
	redis := flag.String("redis", "auto", "auto: also run on Redis when redis-server is installed; off: never")
	flag.StringVar(&o.out, "out", "", "write the report (Markdown) to this file")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the gateway process (embedded store) to this file")
	serve := flag.Bool("serve", false, "internal: serve a gateway under load in this process (the harness starts it)")
	serveDir := flag.String("serve-dir", "", "internal: the data dir of -serve")
	serveRedis := flag.String("serve-redis", "", "internal: the Redis URL of -serve")
	servePageCache := flag.Bool("serve-page-cache", true, "internal: the page cache of -serve")
	pin := flag.Bool("pin", runtime.GOOS == "linux" && runtime.NumCPU() > 1, "also measure latency with the servers and the load generator on separate cores")
	flag.BoolVar(&o.rtOnly, "realtime", false, "run only the realtime comparison with PocketBase (event streams, fan-out latency, memory, CPU)")
	flag.IntVar(&o.realtime.streams, "streams", 10_000, "realtime: concurrent subscribed streams")
	flag.IntVar(&o.realtime.writes, "writes", 15, "realtime: writes (one a second) per fan-out scenario, at most 64")
	flag.StringVar(&o.realtime.pocketbase, "pocketbase", "", "realtime and files: a built PocketBase to compare with (default: build cmd/loadgen/pocketbase)")
	flag.BoolVar(&o.filesOnly, "files", false, "run only the files comparison with PocketBase (upload and download throughput of 1 MB files, thumbnail latency)")
	flag.IntVar(&o.files.uploads, "uploads", 200, "files: 1 MB files uploaded (each then downloaded twice)")
	flag.Parse()
	if *serve {
		if *pin {
			if err := pinServers(); err != nil {
				fmt.Fprintln(os.Stderr, "loadgen -serve: pin:", err)
				os.Exit(1)
			}
		}
		if err := serveChild(*serveDir, *serveRedis, o.cpuProfile, *servePageCache); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen -serve:", err)
			os.Exit(1)
		}
		return
	}
	_, err := exec.LookPath("redis-server")
	o.redis = *redis == "auto" && err == nil
	o.pin = *pin
	if o.filesOnly {
		o.files.concurrency, o.files.pocketbase, o.files.out, o.files.only = o.concurrency, o.realtime.pocketbase, o.out, o.only
		if err := runFiles(o.files, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if o.rtOnly {
		o.realtime.cpuProfile, o.realtime.only, o.realtime.out = o.cpuProfile, o.only, o.out
		if err := runRealtime(o.realtime, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(o options, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := &report{opts: o, started: time.Now()}

	emb, fix, err := startSeeded(o.docs, "", o.cpuProfile, false, true)
	if err != nil {
		return err
	}
	defer emb.stop()
	if err := emb.setAnswer(fix.query20Body); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d documents; baseline body %d bytes\n", o.docs, len(fix.query20Body))

	d := driver{concurrency: o.concurrency, duration: o.duration}
	baseline, err := d.measure("baseline: bare Gin, same 20 documents from memory", getReq(emb.baseline, ""), emb.stats)
	if err != nil {
		return err
	}
	rep.add("", baseline, baseline)
	fmt.Fprintln(stdout, baseline.line(baseline))
	for _, sc := range fix.scenarios(emb.url) {
		if !strings.HasPrefix(sc.name, o.only) {
			continue
		}
		r, err := d.measure(sc.name, sc.next, emb.stats)
		if err != nil {
			return err
		}
		rep.add("embedded", r, baseline)
		fmt.Fprintln(stdout, r.line(baseline))
	}
	// The cost of authentication and authorization, one request at a time
	// (under load, p50 is mostly queueing): GET of 20 documents with a bearer
	// token and the same GET on discovery without credentials.
	withAuth, _, _ := sequential(500, getReq(emb.url+"/api/gym?find=20", fix.bearer))
	without, _, _ := sequential(500, getReq(emb.url+"/api/discovery/gym?find=20", ""))
	rep.withAuth, rep.withoutAuth, rep.authCost = withAuth, without, withAuth-without
	fmt.Fprintf(stdout, "one at a time: p50 %v with a bearer token, %v without credentials\n", withAuth, without)
	loginP50, _, refused := sequential(40, fix.loginsFromTheEnd(emb.url))
	if refused > 0 {
		return fmt.Errorf("%d of 40 logins one at a time were refused", refused)
	}
	rep.loginP50 = loginP50
	fmt.Fprintf(stdout, "one at a time: login p50 %v\n", loginP50)
	// Every request read from SQLite: the same query on a gateway with the
	// page cache off. The ladder runs there too, so its store rung is the
	// store's whole cost.
	cold, cfix, err := startSeeded(o.docs, "", "", false, false)
	if err != nil {
		return err
	}
	defer cold.stop()
	if err := cold.setAnswer(cfix.query20Body); err != nil {
		return err
	}
	r, err := d.measure("query 20 documents (envelope, bearer JWT), page cache off", postReq(cold.url+"/api/gym", cfix.bearer, cfix.queryBody), cold.stats)
	if err != nil {
		return err
	}
	rep.add("embedded", r, baseline)
	fmt.Fprintln(stdout, r.line(baseline))
	if o.ladder {
		for _, rung := range cold.rungs {
			r, err := d.measure(rung.Name, postReq("http://"+rung.Addr+"/api/gym", cfix.bearer, cfix.queryBody), cold.stats)
			if err != nil {
				return err
			}
			rep.ladder = append(rep.ladder, r)
			fmt.Fprintln(stdout, r.line(baseline))
		}
	}
	if o.redis {
		rs, err := startRedis()
		if err != nil {
			return err
		}
		defer rs.stop()
		red, rfix, err := startSeeded(o.docs, rs.url(), "", false, true)
		if err != nil {
			return err
		}
		defer red.stop()
		for _, sc := range rfix.scenarios(red.url)[:3] {
			r, err := d.measure(sc.name, sc.next, red.stats)
			if err != nil {
				return err
			}
			rep.add("redis", r, baseline)
			fmt.Fprintln(stdout, r.line(baseline))
		}
	}
	if o.pin {
		if rep.pinned, err = latencyApart(d, o.docs, o.redis, stdout); err != nil {
			return err
		}
	}
	if o.growth {
		g, err := growth(ctx, stdout)
		if err != nil {
			return err
		}
		rep.growth = g
	}
	text := rep.markdown()
	fmt.Fprintln(stdout, text)
	if o.out != "" {
		return writeReport(o.out, text, false)
	}
	return nil
}

// startSeeded starts a gateway child (see startGateway), seeds it with docs
// documents, and gives its baseline and early rungs the query's answer.
func startSeeded(docs int, redisURL, cpuProfile string, pin, pageCache bool) (*gatewayProc, *fixture, error) {
	g, err := startGateway(redisURL, cpuProfile, pin, pageCache)
	if err != nil {
		return nil, nil, err
	}
	fix, err := seed(g.url, docs)
	if err == nil {
		err = g.setAnswer(fix.query20Body)
	}
	if err != nil {
		g.stop()
		return nil, nil, err
	}
	return g, fix, nil
}

// latencyApart measures the baseline and the authenticated query again with
// the servers and the load generator pinned to separate cores: on shared
// cores the operating system's time slices between the two processes show
// in every percentile, the baseline's too.
func latencyApart(d driver, docs int, withRedis bool, stdout io.Writer) ([]result, error) {
	restore, err := pinLoadGenerator()
	if err != nil {
		return nil, err
	}
	defer restore()
	g, fix, err := startSeeded(docs, "", "", true, true)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	if err := g.setAnswer(fix.query20Body); err != nil {
		return nil, err
	}
	base, err := d.measure("baseline: bare Gin, same 20 documents from memory", getReq(g.baseline, ""), g.stats)
	if err != nil {
		return nil, err
	}
	q, err := d.measure("query 20 documents (envelope, bearer JWT)", postReq(g.url+"/api/gym", fix.bearer, fix.queryBody), g.stats)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, "separate cores:", base.line(base))
	fmt.Fprintln(stdout, "separate cores:", q.line(base))
	out := []result{base, q}
	if !withRedis {
		return out, nil
	}
	rs, err := startRedis()
	if err != nil {
		return nil, err
	}
	defer rs.stop()
	if err := pinServerProcess(rs.cmd.Process.Pid); err != nil {
		return nil, err
	}
	rg, rfix, err := startSeeded(docs, rs.url(), "", true, true)
	if err != nil {
		return nil, err
	}
	defer rg.stop()
	rq, err := d.measure("query 20 documents (envelope, bearer JWT), Redis sessions", postReq(rg.url+"/api/gym", rfix.bearer, rfix.queryBody), rg.stats)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, "separate cores:", rq.line(base))
	return append(out, rq), nil
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
