package inbox

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrBadQuickReply refuses a quick reply without a title (1-100 characters) or a text
// (1-4096 characters).
var ErrBadQuickReply = errors.New("inbox: a quick reply needs a title (1-100 characters) and a text (1-4096 characters)")

// QuickReply is a canned response of an organization (M5): a text with variables such as
// {{customer_name}}, rendered for a conversation and its agent (package quickreply).
type QuickReply struct {
	ID        string
	OrgID     string
	Title     string
	Text      string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Edit sets the title and text, or refuses them with ErrBadQuickReply; checking the variables
// is the caller's (quickreply.Validate), which knows the variables it can fill.
func (q *QuickReply) Edit(title, text string, at time.Time) error {
	title = strings.TrimSpace(title)
	if n := utf8.RuneCountInString(title); n == 0 || n > 100 {
		return ErrBadQuickReply
	}
	if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > 4096 {
		return ErrBadQuickReply
	}
	q.Title, q.Text, q.UpdatedAt = title, text, at
	return nil
}
