package ops_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

type jobView struct {
	ID          int64          `json:"id"`
	Kind        string         `json:"kind"`
	State       string         `json:"state"`
	Attempt     int            `json:"attempt"`
	MaxAttempts int            `json:"max_attempts"`
	Args        map[string]any `json:"args"`
	Errors      []struct {
		Attempt int    `json:"attempt"`
		Error   string `json:"error"`
	} `json:"errors"`
}

type jobPage struct {
	Data      []jobView `json:"data"`
	NextAfter *string   `json:"next_after"`
}

func TestQueueShowsFailuresAndRetriesThem(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	demo := w.Demo(t)
	member := w.Fake.AddUser("Alice", "alice")
	say(t, w, demo.Bot.TelegramID, member, "/start")
	w.Idle(t)

	// A message that fails on its only attempt is discarded.
	w.Fake.Fail("sendMessage", 1, telegramtest.Fail5xx())
	res, err := w.App.River.Insert(ctx, jobs.SendMessageArgs{TenantID: demo.TenantID, BotID: demo.Bot.ID, ChatID: member.ID, Text: "Hello again"},
		&river.InsertOpts{Queue: jobs.QueueTelegram, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := itoa(res.Job.ID)
	var job jobView
	w.Wait(t, "the job to be discarded", func() bool {
		w.reader.call("GET", "/jobs/"+id, nil, &job)
		return job.State == "discarded"
	})
	if job.Kind != "telegram.send_message" || job.Attempt != 1 || len(job.Errors) != 1 || job.Errors[0].Error == "" {
		t.Errorf("discarded job: %+v", job)
	}
	// Staff see the ids a failure is found by, not what the member was
	// sent: a message may carry an access code or a Join link.
	if job.Args["text"] != "[redacted: 11 characters]" || job.Args["chat_id"] != float64(member.ID) || job.Args["tenant_id"] != float64(demo.TenantID) {
		t.Errorf("discarded job's args: %v; want the text redacted and the ids shown", job.Args)
	}

	var summary struct {
		Data []struct {
			Kind, State string
			Count       int
		} `json:"data"`
		States map[string]int `json:"states"`
	}
	if status := w.reader.call("GET", "/jobs/summary", nil, &summary); status != 200 || len(summary.States) != 8 || summary.States["discarded"] != 1 ||
		summary.States["completed"] < 1 {
		t.Errorf("summary: %d %+v", status, summary)
	}
	found := false
	for _, c := range summary.Data {
		found = found || (c.Kind == "telegram.send_message" && c.State == "discarded" && c.Count == 1)
	}
	if !found {
		t.Errorf("summary has no discarded telegram.send_message: %+v", summary.Data)
	}

	// The failures, filtered by state, kind and tenant.
	for _, c := range []struct {
		query string
		want  int
	}{
		{"state=retryable,discarded", 1},
		{"state=discarded&kind=telegram.send_message&tenant=" + itoa(demo.TenantID), 1},
		{"state=discarded&tenant=" + itoa(demo.TenantID+1), 0},
		{"state=discarded&kind=telegram.answer_callback", 0},
		{"state=discarded&queue=default", 0},
	} {
		var page jobPage
		if status := w.reader.call("GET", "/jobs?"+c.query, nil, &page); status != 200 || len(page.Data) != c.want ||
			(c.want == 1 && (page.Data[0].ID != res.Job.ID || len(page.Data[0].Errors) != 1)) {
			t.Errorf("GET /jobs?%s: %d %+v, want %d", c.query, status, page.Data, c.want)
		}
	}
	for _, q := range []string{"state=failed", "limit=0", "limit=501", "after=garbage!", "tenant=x"} {
		w.reader.refused("GET", "/jobs?"+q, nil, 422, "invalid_request")
	}

	// Paging, newest first. (Only this kind: River's leader inserts the
	// periodic jobs at a moment of its own, which may come after ours.)
	var p1, p2 jobPage
	w.reader.call("GET", "/jobs?limit=1&kind=telegram.send_message", nil, &p1)
	if len(p1.Data) != 1 || p1.Data[0].ID != res.Job.ID || p1.NextAfter == nil {
		t.Fatalf("first page: %+v", p1)
	}
	w.reader.call("GET", "/jobs?limit=1&kind=telegram.send_message&after="+url.QueryEscape(*p1.NextAfter), nil, &p2)
	if len(p2.Data) != 1 || p2.Data[0].ID >= res.Job.ID {
		t.Errorf("second page: %+v", p2)
	}

	// Retrying: admin only, failed jobs only, and it takes no fields.
	w.reader.refused("POST", "/jobs/"+id+"/retry", nil, 403, "forbidden")
	w.admin.refused("POST", "/jobs/"+id+"/retry", map[string]int{"x": 1}, 400, "bad_json")
	w.admin.refused("POST", "/jobs/"+id+"/retry", "[]", 400, "bad_json")
	w.admin.refused("POST", "/jobs/999999999/retry", "{}", 404, "not_found")
	if status := w.admin.call("POST", "/jobs/"+id+"/retry", nil, &job); status != 200 || job.State != "available" || job.MaxAttempts != 2 {
		t.Errorf("retry: %d %+v", status, job)
	}
	msgs := w.Messages(t, demo.Bot.TelegramID, member.ID, 2)
	if last := msgs[len(msgs)-1]; last.Text != "Hello again" {
		t.Errorf("after the retry the member got %q", last.Text)
	}
	w.Wait(t, "the retried job to complete", func() bool {
		w.reader.call("GET", "/jobs/"+id, nil, &job)
		return job.State == "completed"
	})
	w.admin.refused("POST", "/jobs/"+id+"/retry", nil, 409, "conflict")
	if n := len(w.Fake.Messages(demo.Bot.TelegramID, member.ID)); n != len(msgs) {
		t.Errorf("a refused retry sent the message again (%d messages)", n)
	}
	w.admin.refused("POST", "/jobs/999999999/retry", nil, 404, "not_found")
	w.reader.refused("GET", "/jobs/abc", nil, 404, "not_found")

	// The retry is in the audit log under the admin's name.
	if n := w.Count(t, "SELECT count(*) FROM ops_audit WHERE token_name = 'alice@gatekey.dev' AND path = $1 AND status = 200",
		"/ops/v1/jobs/"+id+"/retry"); n != 1 {
		t.Errorf("%d audit entries for the retry", n)
	}
}
