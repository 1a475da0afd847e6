//go:build !windows

package main

import "sync"

// inProcess serializes the tests that call run in this process: urfave/cli
// writes its package-level HelpFlag on every App.Run, so two apps may not
// run at once in one process. certctl itself runs one app per process.
var inProcess sync.Mutex

// runInProcess is run, one at a time.
func runInProcess(args []string, e *env) int {
	inProcess.Lock()
	defer inProcess.Unlock()
	return run(args, e)
}
