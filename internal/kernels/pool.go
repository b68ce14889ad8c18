package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The kernels' worker pool. A product split among threads used to start a
// goroutine per part; the Go scheduler then had to wake a parked thread,
// which on the machine measured cost about as much as a few-row
// product in a decode step takes, so a 2-thread decode step was no faster
// than a 1-thread one. Here workers that finish a task keep looking for
// the next one for a short while (spin) before they park, so the parts of
// back-to-back products start within a microsecond.
//
// One job runs at a time: a call made while another is running (a nested
// call from inside a task, or a second goroutine) runs its tasks itself,
// serially. Results never depend on which goroutine runs a task.

// spinFor is how long an idle worker looks for work before parking.
const spinFor = 200 * time.Microsecond

// job is one parallel call: tasks 0…n−1 of f, taken in turn by the caller
// and up to helpers workers.
type job struct {
	f       func(int)
	n       int64
	next    atomic.Int64 // the next task to take
	left    atomic.Int64 // tasks not finished
	helpers atomic.Int64 // workers that may still join
}

var pool struct {
	mu      sync.Mutex // guards started
	started int
	cur     atomic.Pointer[job] // the job running, nil between jobs
	busy    atomic.Bool         // a job is running
	parked  atomic.Int64        // workers blocked on wake
	wake    chan struct{}
}

// maxWorkers bounds the pool (and the wake channel).
const maxWorkers = 256

func init() { pool.wake = make(chan struct{}, maxWorkers) }

// run runs f(0…n−1) on the calling goroutine and up to helpers pool
// workers, and returns when all are done.
func run(n, helpers int, f func(int)) {
	if n <= 0 {
		return
	}
	helpers = min(helpers, n-1, maxWorkers)
	if helpers <= 0 || !pool.busy.CompareAndSwap(false, true) {
		for i := range n {
			f(i)
		}
		return
	}
	startWorkers(helpers)
	j := &job{f: f, n: int64(n)}
	j.left.Store(int64(n))
	j.helpers.Store(int64(helpers))
	pool.cur.Store(j)
	for p := min(pool.parked.Load(), int64(helpers)); p > 0; p-- {
		select {
		case pool.wake <- struct{}{}:
		default:
		}
	}
	defer func() { // also when a task panics here: the workers finish the rest
		for spins := 0; j.left.Load() > 0; spins++ {
			if spins > 64 {
				runtime.Gosched()
			}
		}
		pool.cur.Store(nil)
		pool.busy.Store(false)
	}()
	j.work()
}

// work takes and runs tasks until none are left to take.
func (j *job) work() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.task(int(i))
	}
}

// task runs task i and counts it done, even when it panics.
func (j *job) task(i int) {
	defer j.left.Add(-1)
	j.f(i)
}

// startWorkers makes sure at least n workers exist.
func startWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for ; pool.started < n; pool.started++ {
		go worker()
	}
}

// worker joins each new job it sees (when the job wants another helper),
// spinning for spinFor after its last job before it parks.
func worker() {
	var last *job
	for {
		j := pool.cur.Load()
		if j == nil || j == last {
			j = waitJob(last)
		}
		last = j
		if j.helpers.Add(-1) >= 0 {
			j.work()
		}
	}
}

// waitJob returns the next job other than last: it spins for spinFor, then
// parks until a job wakes it.
func waitJob(last *job) *job {
	deadline := time.Now().Add(spinFor)
	for spins := 0; ; spins++ {
		if j := pool.cur.Load(); j != nil && j != last {
			return j
		}
		if spins%64 == 63 && time.Now().After(deadline) {
			pool.parked.Add(1)
			if j := pool.cur.Load(); j != nil && j != last { // a job came as we parked
				pool.parked.Add(-1)
				return j
			}
			<-pool.wake
			pool.parked.Add(-1)
			deadline = time.Now().Add(spinFor)
		}
	}
}
