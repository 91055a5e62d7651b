package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// server is `gatekey serve` in a process of its own, so that it can be
// killed with SIGKILL in the middle of its work.
type server struct {
	t    *testing.T
	bin  string
	env  []string
	addr string
	cmd  *exec.Cmd
}

func buildGatekey(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "gatekey")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/gatekey").CombinedOutput()
	if err != nil {
		t.Fatalf("build gatekey: %v\n%s", err, out)
	}
	return bin
}

func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = append(os.Environ(), s.env...)
	logPath := filepath.Join(s.t.TempDir(), "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(logPath)
	s.t.Fatalf("gatekey serve did not become ready:\n%s", log)
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func TestKilledServerLeavesEveryActivationWholeOrAbsent(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	dbURL := cluster.NewDatabase("gatekey")
	fake := telegramtest.NewServer()
	t.Cleanup(fake.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &server{t: t, bin: buildGatekey(t), addr: addr, env: []string{
		"DATABASE_URL=" + dbURL, "GATEKEY_ADDR=" + addr, "GATEKEY_PUBLIC_URL=http://" + addr,
		"GATEKEY_SECRET_KEY=" + apptest.SecretKey, "TELEGRAM_API_URL=" + fake.URL(),
		"GATEKEY_JOB_POLL_INTERVAL=50ms", "GATEKEY_JOB_TIMEOUT=5s", "GATEKEY_JOB_RESCUE_AFTER=6s",
		"GATEKEY_LOG_LEVEL=warn",
	}}
	srv.start()
	t.Cleanup(srv.kill)

	// Seed through an App of the test's own that serves nothing and works
	// no jobs: the bot's webhook points at the server process.
	seeder, err := app.New(context.Background(), app.Config{DatabaseURL: dbURL, PublicURL: "http://" + addr,
		SecretKey: apptest.SecretKey, TelegramAPIURL: fake.URL(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer seeder.Shutdown(context.Background())
	demo, err := seeder.SeedDemo(context.Background(), fake, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var code string
	err = seeder.DB.Tx(context.Background(), demo.TenantID, func(tx pgxTx) error {
		b, err := membership.CreateCodes(context.Background(), tx, membership.CodeRequest{PlanID: demo.Plan.ID, Count: 1, MaxActivations: 1000})
		if err == nil {
			code = b.Codes[0].Code
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	const members = 60
	ids := make([]int64, members)
	for i := range ids {
		ids[i] = fake.AddUser(fmt.Sprint("K", i), "").ID
	}
	var acked atomic.Int64
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if status, err := fake.Start(demo.Bot.TelegramID, id, code); err == nil && status == 200 {
					acked.Add(1)
					return
				}
			}
			t.Errorf("member %d never got a 200", id)
		}()
	}
	for acked.Load() < members/3 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.kill()
	killedAt := acked.Load()
	time.Sleep(300 * time.Millisecond)
	srv.start()
	wg.Wait()
	t.Logf("killed after %d of %d activations were acknowledged", killedAt, members)

	// Every member is answered, once the restarted server works the jobs.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = fake.WaitFor(ctx, func() bool {
		for _, id := range ids {
			if len(fake.Messages(demo.Bot.TelegramID, id)) == 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("not every member was answered after the restart: %v", err)
	}
	owner := ownerPool(t, dbURL)
	for q, want := range map[string]int{
		"SELECT count(*) FROM memberships":      members,
		"SELECT count(*) FROM orders":           members,
		"SELECT count(*) FROM code_activations": members,
		"SELECT activations FROM access_codes":  members,
		"SELECT count(DISTINCT args->>'membership_id') FROM river_job WHERE kind = 'membership.send_access'": members,
		"SELECT count(*) FROM river_job WHERE kind = 'membership.expire'":                                    members,
	} {
		var n int
		if err := owner.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	twice := 0
	for _, id := range ids {
		msgs := fake.Messages(demo.Bot.TelegramID, id)
		if !strings.Contains(msgs[0].Text, "Code accepted") {
			t.Errorf("member %d was answered %q", id, msgs[0].Text)
		}
		if len(msgs) > 1 {
			twice++
		}
	}
	// A job killed after its message went out but before River recorded
	// it runs again: at-least-once delivery. Say how often it happened.
	t.Logf("%d of %d members got their confirmation twice", twice, members)
}
