//go:build linux

package main

import (
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// The servers and the load generator are pinned to separate cores, so the
// two processes never take each other's time slices: a request's latency is
// the server's, not the operating system's choice of which process runs.
// The load generator takes the last core, the servers every other one.

// serverCPUs is how many cores the servers get.
func serverCPUs() int { return max(1, runtime.NumCPU()-1) }

// pinLoadGenerator pins this process to the last core and returns what
// undoes it.
func pinLoadGenerator() (func(), error) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, err
	}
	procs := runtime.GOMAXPROCS(1)
	var set unix.CPUSet
	set.Set(runtime.NumCPU() - 1)
	if err := pinProcess(&set); err != nil {
		runtime.GOMAXPROCS(procs)
		return nil, err
	}
	return func() {
		_ = pinProcess(&old)
		runtime.GOMAXPROCS(procs)
	}, nil
}

// serverSet is every core but the last.
func serverSet() *unix.CPUSet {
	var set unix.CPUSet
	for i := range serverCPUs() {
		set.Set(i)
	}
	return &set
}

// pinServers pins this process to the servers' cores.
func pinServers() error {
	runtime.GOMAXPROCS(serverCPUs())
	return pinProcess(serverSet())
}

// pinServerProcess pins another process (redis-server) to the servers'
// cores.
func pinServerProcess(pid int) error {
	return pinTasks("/proc/"+strconv.Itoa(pid)+"/task", serverSet())
}

// pinProcess sets the affinity of every thread of this process (Linux sets
// it per thread; threads made later inherit it from their creator).
func pinProcess(set *unix.CPUSet) error { return pinTasks("/proc/self/task", set) }

func pinTasks(dir string, set *unix.CPUSet) error {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil {
			return err
		}
	}
	return nil
}
