package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// River's queue, as staff see it: counts by kind and state, jobs with
// their errors, and a retry for a failed job. Jobs are read and retried
// through River's client (JobList, JobGet, JobRetry); only the counts,
// which River's client has no call for, are plain SQL on river_job.

type jobView struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Priority    int             `json:"priority"`
	Tags        []string        `json:"tags"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at"`
	FinalizedAt *time.Time      `json:"finalized_at"`
	Args        json.RawMessage `json:"args"`
	Errors      []jobError      `json:"errors"`
}

type jobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Trace   string    `json:"trace,omitempty"`
}

// newJobView shows a job; traces (long, from panics) only when asked.
func newJobView(j *rivertype.JobRow, traces bool) jobView {
	v := jobView{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Attempt: j.Attempt,
		MaxAttempts: j.MaxAttempts, Priority: j.Priority, Tags: j.Tags, CreatedAt: j.CreatedAt,
		ScheduledAt: j.ScheduledAt, AttemptedAt: j.AttemptedAt, FinalizedAt: j.FinalizedAt,
		Args: redactArgs(j.EncodedArgs), Errors: []jobError{}}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	for _, e := range j.Errors {
		je := jobError{At: e.At, Attempt: e.Attempt, Error: e.Error}
		if traces {
			je.Trace = e.Trace
		}
		v.Errors = append(v.Errors, je)
	}
	return v
}

type jobCount struct {
	Kind  string `json:"kind"`
	State string `json:"state"`
	Count int    `json:"count"`
}

// jobSummary answers GET /ops/v1/jobs/summary: how many jobs of each kind
// are in each state, and the totals per state.
func (s *Server) jobSummary(c *fiber.Ctx) error {
	rows, err := s.cfg.DB.Pool().Query(c.UserContext(),
		"SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state ORDER BY kind, state")
	if err != nil {
		return fmt.Errorf("ops: job summary: %w", err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[jobCount])
	if err != nil {
		return fmt.Errorf("ops: job summary: %w", err)
	}
	states := map[string]int{}
	for _, st := range rivertype.JobStates() {
		states[string(st)] = 0
	}
	for _, n := range counts {
		states[n.State] += n.Count
	}
	return c.JSON(fiber.Map{"data": counts, "states": states})
}

// listJobs answers GET /ops/v1/jobs: jobs newest first, filtered by
// state, kind, queue (each a comma-separated list) and tenant, paged by
// ?after=<next_after>. state=retryable,discarded lists the failures.
func (s *Server) listJobs(c *fiber.Ctx) error {
	limit, err := limitQuery(c, 50, 500)
	if err != nil {
		return err
	}
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if v := c.Query("state"); v != "" {
		states, err := parseStates(v)
		if err != nil {
			return err
		}
		params = params.States(states...)
	}
	if v := c.Query("kind"); v != "" {
		params = params.Kinds(splitList(v)...)
	}
	if v := c.Query("queue"); v != "" {
		params = params.Queues(splitList(v)...)
	}
	tenantID, err := int64Query(c, "tenant")
	if err != nil {
		return err
	}
	if tenantID > 0 {
		// Every Gatekey job's args carry the tenant's id.
		params = params.Where("args->>'tenant_id' = @tenant", river.NamedArgs{"tenant": strconv.FormatInt(tenantID, 10)})
		aboutTenant(c, tenantID)
	}
	if v := c.Query("after"); v != "" {
		var cursor river.JobListCursor
		if err := cursor.UnmarshalText([]byte(v)); err != nil {
			return invalid("after must be the next_after of an earlier page.")
		}
		params = params.After(&cursor)
	}
	res, err := s.cfg.River.JobList(c.UserContext(), params)
	if err != nil {
		return fmt.Errorf("ops: list jobs: %w", err)
	}
	list := make([]jobView, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		list = append(list, newJobView(j, false))
	}
	if len(res.Jobs) == limit && res.LastCursor != nil {
		// River's cursors come only from a page's last job: rather than a
		// job more, ask whether one follows this page.
		more, err := s.cfg.River.JobList(c.UserContext(), params.After(res.LastCursor).First(1))
		if err != nil {
			return fmt.Errorf("ops: list jobs: %w", err)
		}
		if len(more.Jobs) == 0 {
			res.LastCursor = nil // the last page
		}
	}
	var next *string
	if len(res.Jobs) == limit && res.LastCursor != nil {
		text, err := res.LastCursor.MarshalText()
		if err != nil {
			return fmt.Errorf("ops: list jobs: %w", err)
		}
		cursor := string(text)
		next = &cursor
	}
	return c.JSON(fiber.Map{"data": list, "next_after": next})
}

func parseStates(v string) ([]rivertype.JobState, error) {
	var states []rivertype.JobState
	for _, s := range splitList(v) {
		st := rivertype.JobState(s)
		if !slices.Contains(rivertype.JobStates(), st) {
			var names []string
			for _, known := range rivertype.JobStates() {
				names = append(names, string(known))
			}
			return nil, invalid("There is no job state %q: the states are %s.", s, strings.Join(names, ", "))
		}
		states = append(states, st)
	}
	return states, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// getJob answers GET /ops/v1/jobs/:id, with its errors' traces.
func (s *Server) getJob(c *fiber.Ctx) error {
	j, err := s.job(c)
	if err != nil {
		return err
	}
	return c.JSON(newJobView(j, true))
}

func (s *Server) job(c *fiber.Ctx) (*rivertype.JobRow, error) {
	id, err := idParam(c, "job")
	if err != nil {
		return nil, err
	}
	j, err := s.cfg.River.JobGet(c.UserContext(), id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, fail(fiber.StatusNotFound, codeNotFound, "There is no job with this id (finished jobs are cleaned away after a while).")
	}
	if err != nil {
		return nil, fmt.Errorf("ops: get job: %w", err)
	}
	return j, nil
}

// retryable are the states of a job that failed or was given up on.
var retryable = []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled}

// retryJob answers POST /ops/v1/jobs/:id/retry: a failed job runs again
// now, with one more attempt if it had used them all. Only failed jobs:
// running a completed job again would send its message twice.
func (s *Server) retryJob(c *fiber.Ctx) error {
	// It takes no fields: a misspelt one is refused, as in every call.
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	j, err := s.job(c)
	if err != nil {
		return err
	}
	if !slices.Contains(retryable, j.State) {
		return fail(fiber.StatusConflict, codeConflict, fmt.Sprintf(
			"Only a failed job (retryable, discarded or cancelled) can be retried; this one is %s.", j.State))
	}
	j, err = s.cfg.River.JobRetry(c.UserContext(), j.ID)
	if err != nil {
		return fmt.Errorf("ops: retry job: %w", err)
	}
	return c.JSON(newJobView(j, false))
}
