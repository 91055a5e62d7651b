package telegram

import (
	"errors"
	"strings"
	"time"

	ta "github.com/mymmrac/telego/telegoapi"
)

// Verdict is what a job should do after a failed call.
type Verdict int

const (
	// Retry later with backoff: a 5xx, a timeout, a lost connection.
	Retry Verdict = iota
	// Wait exactly RetryAfter, then try again: Telegram's flood control (429).
	Wait
	// Blocked: the user blocked the bot, or the bot lost its place in a
	// chat (403). Retrying cannot help; the member or chat is marked.
	Blocked
	// Final: Telegram refused the call itself (400: chat not found, user not
	// found, message not modified...). Retrying cannot help.
	Final
)

// Failure describes a failed Bot API call.
type Failure struct {
	Verdict     Verdict
	RetryAfter  time.Duration
	Code        int
	Description string
}

// Classify maps an error from telego onto what to do next.
func Classify(err error) Failure {
	var apiErr *ta.Error
	if !errors.As(err, &apiErr) {
		return Failure{Verdict: Retry, Description: err.Error()}
	}
	f := Failure{Code: apiErr.ErrorCode, Description: apiErr.Description}
	switch {
	case apiErr.ErrorCode == 429:
		f.Verdict = Wait
		f.RetryAfter = time.Second
		if apiErr.Parameters != nil && apiErr.Parameters.RetryAfter > 0 {
			f.RetryAfter = time.Duration(apiErr.Parameters.RetryAfter) * time.Second
		}
	case apiErr.ErrorCode == 403:
		f.Verdict = Blocked
	case apiErr.ErrorCode >= 500:
		f.Verdict = Retry
	case apiErr.ErrorCode == 400 && strings.Contains(apiErr.Description, "message is not modified"):
		f.Verdict = Final
	default:
		f.Verdict = Final
	}
	return f
}

// IsNotModified reports Telegram's refusal to edit a message into itself,
// which for Gatekey means the edit already happened.
func IsNotModified(err error) bool {
	var apiErr *ta.Error
	return errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "message is not modified")
}
