package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL server of a test's own, started from the
// machine's PostgreSQL binaries in a temporary directory: for fault tests
// that stop and restart the database, which must never touch a shared one.
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	port int
}

// StartCluster initialises and starts a cluster, and removes it when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dir, err := os.MkdirTemp("", "gatekey-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		_ = c.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if err := c.chown(); err != nil {
		t.Fatal(err)
	}
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	c.Start()
	return c
}

// URL connects to the cluster's postgres database as the superuser.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// DatabaseURL connects to database name on the cluster.
func (c *Cluster) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, c.dir)
	if err := c.ctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", opts); err != nil {
		c.t.Fatalf("pgtest: start cluster: %v", err)
	}
}

// Stop stops the server at once, as a crash would (connections are cut,
// uncommitted work is lost, committed work is kept).
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.ctl("stop", "-w", "-m", "immediate"); err != nil {
		c.t.Fatalf("pgtest: stop cluster: %v", err)
	}
}

// Restart stops the server abruptly and starts it again.
func (c *Cluster) Restart() {
	c.t.Helper()
	c.Stop()
	c.Start()
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) ctl(args ...string) error {
	args = append([]string{"-D", c.data()}, args...)
	out, err := c.run(filepath.Join(c.bin, "pg_ctl"), args...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// run runs a PostgreSQL program; as root, as the postgres user, since
// initdb and postgres refuse to run as root.
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", prog}, args...)
		prog = "runuser"
	}
	return exec.Command(prog, args...).CombinedOutput()
}

func (c *Cluster) chown() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(c.dir, uid, gid)
}

func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL binaries under /usr/lib/postgresql (make test installs them)")
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NewDatabase creates a migrated database on the cluster and returns its URL.
func (c *Cluster) NewDatabase(name string) string {
	c.t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		c.t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		c.t.Fatal(err)
	}
	if err := migrate(ctx, c.DatabaseURL(name)); err != nil {
		c.t.Fatal(err)
	}
	return c.DatabaseURL(name)
}
