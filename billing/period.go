package billing

import (
	"fmt"
	"time"
)

// Period is the billing period: calendar months in UTC, or (for tests and
// trials) a fixed length; lengths that divide a day start at midnight UTC.
type Period struct {
	Every time.Duration // 0: calendar months
}

// Monthly is the default period.
var Monthly = Period{}

// ParsePeriod reads "month" or a duration of at least a second ("24h").
func ParsePeriod(s string) (Period, error) {
	if s == "" || s == "month" {
		return Monthly, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return Period{}, fmt.Errorf("billing period %q: want month, or a duration of at least 1s such as 24h", s)
	}
	return Period{Every: d}, nil
}

// Bounds returns the period that contains t: [start, end).
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	if p.Every <= 0 {
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	start = t.Truncate(p.Every)
	return start, start.Add(p.Every)
}

// Previous returns the period before the one that contains t.
func (p Period) Previous(t time.Time) (start, end time.Time) {
	start, _ = p.Bounds(t)
	return p.Bounds(start.Add(-time.Nanosecond))
}

func (p Period) String() string {
	if p.Every <= 0 {
		return "month"
	}
	return p.Every.String()
}
