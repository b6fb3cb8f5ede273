package inbox

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Closing reasons (A5): an organization may configure the reasons a conversation is closed
// with, and a department its own list instead; when a list applies, closing requires one of
// its reasons (the note stays free).

// MaxClosingReasons bounds a list; each reason has 1 to maxReasonRunes characters.
const (
	MaxClosingReasons = 50
	maxReasonRunes    = 100
)

// ClosingReasonsError says what is wrong with a configured list.
type ClosingReasonsError struct{ Reason string }

func (e *ClosingReasonsError) Error() string { return "closing reasons: " + e.Reason }

// NormalizeClosingReasons trims the reasons of a list and refuses blank, too long and repeated
// (case ignored) ones; an empty list is no list.
func NormalizeClosingReasons(reasons []string) ([]string, error) {
	if len(reasons) > MaxClosingReasons {
		return nil, &ClosingReasonsError{fmt.Sprintf("at most %d reasons", MaxClosingReasons)}
	}
	var out []string
	for _, r := range reasons {
		r = strings.TrimSpace(r)
		if r == "" || utf8.RuneCountInString(r) > maxReasonRunes {
			return nil, &ClosingReasonsError{"each reason has 1 to 100 characters"}
		}
		if _, dup := PickClosingReason(out, r); dup {
			return nil, &ClosingReasonsError{fmt.Sprintf("%q is in the list twice", r)}
		}
		out = append(out, r)
	}
	return out, nil
}

// PickClosingReason finds reason in a configured list, case ignored, and returns the list's
// spelling of it.
func PickClosingReason(list []string, reason string) (string, bool) {
	reason = strings.TrimSpace(reason)
	for _, r := range list {
		if strings.EqualFold(r, reason) {
			return r, true
		}
	}
	return "", false
}
