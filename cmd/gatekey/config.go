package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatekey/gatekey/telegram"
)

// setting is one environment variable: its name, default and meaning.
// The README's configuration table lists the same ones.
type setting struct {
	name, def, help string
}

var settings = []setting{
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:54329/gatekey?sslmode=disable", "PostgreSQL connection string (the default is the cluster `make run` starts under ./.data)"},
	{"GATEKEY_ADDR", "127.0.0.1:8080", "listen address of the web tier"},
	{"GATEKEY_PUBLIC_URL", "", "public base URL; Telegram webhooks go to it + /telegram/{botID} (default http://GATEKEY_ADDR)"},
	{"GATEKEY_SECRET_KEY", "", "32 bytes, base64 or hex, that encrypt bot tokens at rest (required by serve; dev uses a fixed development key)"},
	{"GATEKEY_OLD_SECRET_KEYS", "", "comma-separated earlier keys, still accepted for decryption while tokens are re-encrypted"},
	{"TELEGRAM_API_URL", telegram.DefaultAPIURL, "Bot API server"},
	{"GATEKEY_DB_MAX_CONNS", "32", "connections in the pool of each process"},
	{"GATEKEY_TELEGRAM_WORKERS", "64", "Telegram calls a worker process makes at once"},
	{"GATEKEY_JOB_POLL_INTERVAL", "1s", "how often workers poll for jobs besides LISTEN/NOTIFY"},
	{"GATEKEY_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"GATEKEY_LOG_FORMAT", "json", "json or text"},
}

func env(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	for _, s := range settings {
		if s.name == name {
			return s.def
		}
	}
	panic("unknown setting " + name)
}

// config is the process's settings, read and checked once at start.
type config struct {
	DatabaseURL     string
	Addr            string
	PublicURL       string
	SecretKey       string
	OldSecretKeys   []string
	TelegramAPIURL  string
	DBMaxConns      int32
	TelegramWorkers int
	JobPollInterval time.Duration
	LogLevel        slog.Level
	LogFormat       string
}

// loadConfig reads the environment and says plainly what is wrong with it.
func loadConfig() (config, error) {
	c := config{
		DatabaseURL:    env("DATABASE_URL"),
		Addr:           env("GATEKEY_ADDR"),
		PublicURL:      strings.TrimRight(env("GATEKEY_PUBLIC_URL"), "/"),
		SecretKey:      env("GATEKEY_SECRET_KEY"),
		TelegramAPIURL: strings.TrimRight(env("TELEGRAM_API_URL"), "/"),
		LogFormat:      env("GATEKEY_LOG_FORMAT"),
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("GATEKEY_ADDR=%q: want host:port, such as 127.0.0.1:8080", c.Addr))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		errs = append(errs, fmt.Errorf("GATEKEY_PUBLIC_URL=%q: want an http:// or https:// URL", c.PublicURL))
	}
	if s := env("GATEKEY_OLD_SECRET_KEYS"); s != "" {
		c.OldSecretKeys = strings.Split(s, ",")
	}
	n, err := strconv.Atoi(env("GATEKEY_DB_MAX_CONNS"))
	if err != nil || n < 4 || n > 1000 {
		errs = append(errs, fmt.Errorf("GATEKEY_DB_MAX_CONNS=%q: want a number from 4 to 1000", env("GATEKEY_DB_MAX_CONNS")))
	}
	c.DBMaxConns = int32(n)
	c.TelegramWorkers, err = strconv.Atoi(env("GATEKEY_TELEGRAM_WORKERS"))
	if err != nil || c.TelegramWorkers < 1 || c.TelegramWorkers > 10000 {
		errs = append(errs, fmt.Errorf("GATEKEY_TELEGRAM_WORKERS=%q: want a number from 1 to 10000", env("GATEKEY_TELEGRAM_WORKERS")))
	}
	c.JobPollInterval, err = time.ParseDuration(env("GATEKEY_JOB_POLL_INTERVAL"))
	if err != nil || c.JobPollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("GATEKEY_JOB_POLL_INTERVAL=%q: want a duration of at least 10ms, such as 1s", env("GATEKEY_JOB_POLL_INTERVAL")))
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("GATEKEY_LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("GATEKEY_LOG_LEVEL=%q: want debug, info, warn or error", env("GATEKEY_LOG_LEVEL")))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("GATEKEY_LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	return c, errors.Join(errs...)
}

func (c config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
