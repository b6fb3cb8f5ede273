package inbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/hours"
)

// Trigger is what makes a line answer a customer message by itself (R3).
type Trigger string

// Triggers. Each fires at most once per customer service window of a conversation.
const (
	// TriggerOutsideHours: the message arrived outside the line's business hours (a line
	// without hours is always open, so it never fires).
	TriggerOutsideHours Trigger = "outside_hours"
	// TriggerFirstContact: the first message of a customer the line has never seen (not an
	// answer to a conversation an agent started).
	TriggerFirstContact Trigger = "first_contact"
	// TriggerAlways: any customer message.
	TriggerAlways Trigger = "always"
)

// AutoReply is one automatic answer of a line: its text, sent when its trigger holds.
type AutoReply struct {
	Trigger Trigger
	Text    string
}

// ErrBadAutoReply refuses an auto-reply configuration.
var ErrBadAutoReply = errors.New("inbox: invalid auto-reply")

// maxAutoReplyText is WhatsApp's limit of a text message.
const maxAutoReplyText = 4096

// ValidateAutoReplies checks a line's auto-replies: known triggers, each at most once, and a
// text of 1 to 4096 characters.
func ValidateAutoReplies(rs []AutoReply) error {
	seen := map[Trigger]bool{}
	for _, r := range rs {
		switch r.Trigger {
		case TriggerOutsideHours, TriggerFirstContact, TriggerAlways:
		default:
			return fmt.Errorf("%w: unknown trigger %q (use outside_hours, first_contact or always)", ErrBadAutoReply, r.Trigger)
		}
		if seen[r.Trigger] {
			return fmt.Errorf("%w: trigger %s appears twice", ErrBadAutoReply, r.Trigger)
		}
		seen[r.Trigger] = true
		if strings.TrimSpace(r.Text) == "" || utf8.RuneCountInString(r.Text) > maxAutoReplyText {
			return fmt.Errorf("%w: %s: text is required (1 to %d characters)", ErrBadAutoReply, r.Trigger, maxAutoReplyText)
		}
	}
	return nil
}

// Triggered returns the line's auto-replies whose trigger holds for a customer message that
// arrived at at, in the line's order (the caller sends the first one not sent yet in the
// window). firstContact says the customer had never written to nor been written from the line.
func (l *Line) Triggered(at time.Time, firstContact bool) []AutoReply {
	var out []AutoReply
	for _, r := range l.AutoReplies {
		switch r.Trigger {
		case TriggerAlways:
		case TriggerFirstContact:
			if !firstContact {
				continue
			}
		case TriggerOutsideHours:
			if l.Hours == nil {
				continue
			}
			sch, err := hours.New(*l.Hours)
			if err != nil || sch.Open(at) {
				// A stored schedule was validated when it was set; one that no longer parses
				// (a zone removed from tzdata) answers as open rather than annoy customers.
				continue
			}
		default:
			continue
		}
		out = append(out, r)
	}
	return out
}

// AutoReplyID is the id of the auto-reply of trigger t in the window of a conversation that
// opened at opened: the same decision made twice (a redelivery) makes the same message.
func AutoReplyID(convID string, t Trigger, opened time.Time) string {
	return "m_auto_" + hashID(fmt.Sprintf("%s\x00%s\x00%d", convID, t, opened.UnixMilli()))
}

// NewAutoReply returns the queued text message of an auto-reply, sent by automation (no
// agent) at at.
func NewAutoReply(id, convID, text string, at time.Time) *Message {
	m := NewOutboundMessage(id, convID, "", at)
	m.Type, m.Text, m.Automatic = "text", text, true
	return m
}
