package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
)

// Job metrics, for the worker processes' /metrics: how many runs of each
// kind ended how, and how long they took. A worker failing every Telegram
// call shows here as a climbing "failed" count before anyone reads a log.
var (
	jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatekey_job_runs_total",
		Help: "Runs of jobs by kind and outcome: completed, snoozed (waiting for Telegram's limits), cancelled (refused for good), failed (to run again or be discarded).",
	}, []string{"kind", "outcome"})
	jobSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatekey_job_run_seconds",
		Help:    "Time one run of a job took, by kind.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"kind"})
)

func init() { prometheus.MustRegister(jobRuns, jobSeconds) }

// countRuns is the worker middleware that feeds the job metrics.
func countRuns(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	err := doInner(ctx)
	jobSeconds.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())
	jobRuns.WithLabelValues(job.Kind, runOutcome(err)).Inc()
	return err
}

func runOutcome(err error) string {
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		return "completed"
	case errors.As(err, &snooze):
		return "snoozed"
	case errors.As(err, &cancel):
		return "cancelled"
	}
	return "failed"
}
