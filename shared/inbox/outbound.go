package inbox

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors of outbound messages.
var (
	// ErrWindowClosed refuses a free-form message outside the customer service window: only a
	// template may be sent then (M2).
	ErrWindowClosed = errors.New("inbox: customer service window closed; only a template may be sent")
	// ErrBadTemplate refuses template variables that cannot be sent.
	ErrBadTemplate = errors.New("inbox: invalid template")
)

// CheckSend reports whether a message may be sent at t: inside the window anything goes,
// outside it only a template.
func (c *Conversation) CheckSend(t time.Time, template bool) error {
	if template || c.WindowOpen(t) {
		return nil
	}
	return ErrWindowClosed
}

// NewOutboundMessage returns a message an agent wrote, queued for sending at at. id is fixed by
// the caller so that a retried request finds the message it created.
func NewOutboundMessage(id, convID, agentID string, at time.Time) *Message {
	return &Message{
		ID:             id,
		ConversationID: convID,
		Direction:      Outbound,
		Status:         DeliveryQueued,
		StatusAt:       map[DeliveryStatus]time.Time{DeliveryQueued: at},
		At:             at,
		CreatedAt:      at,
		AgentID:        agentID,
	}
}

// Validate checks a template reference: a name, a language, and variables that are either all
// positional ("1", "2", … with no gap) or all named (lowercase letters, digits and "_"), each
// with a non-empty value.
func (t *TemplateRef) Validate() error {
	if strings.TrimSpace(t.Name) == "" {
		return fmt.Errorf("%w: name is required", ErrBadTemplate)
	}
	if strings.TrimSpace(t.Language) == "" {
		return fmt.Errorf("%w: language is required", ErrBadTemplate)
	}
	positional := 0
	for k, v := range t.Variables {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%w: variable %q is empty", ErrBadTemplate, k)
		}
		if n, err := strconv.Atoi(k); err == nil && n >= 1 && strconv.Itoa(n) == k {
			positional++
			if n > len(t.Variables) {
				return fmt.Errorf("%w: positional variables must be numbered 1 to %d", ErrBadTemplate, len(t.Variables))
			}
			continue
		}
		if !namedParam(k) {
			return fmt.Errorf("%w: variable name %q must be a number or lowercase letters, digits and _", ErrBadTemplate, k)
		}
	}
	if positional != 0 && positional != len(t.Variables) {
		return fmt.Errorf("%w: variables must be all positional or all named", ErrBadTemplate)
	}
	return nil
}

func namedParam(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Positional reports whether the template's variables are positional ({{1}}) rather than
// named ({{customer_name}}); a template without variables is positional.
func (t *TemplateRef) Positional() bool {
	for k := range t.Variables {
		if _, err := strconv.Atoi(k); err != nil {
			return false
		}
	}
	return true
}

// Keys returns the variable names in the order they are sent and shown: positional ones by
// number, named ones alphabetically.
func (t *TemplateRef) Keys() []string {
	keys := make([]string, 0, len(t.Variables))
	for k := range t.Variables {
		keys = append(keys, k)
	}
	if t.Positional() {
		sort.Slice(keys, func(i, j int) bool {
			a, _ := strconv.Atoi(keys[i])
			b, _ := strconv.Atoi(keys[j])
			return a < b
		})
	} else {
		sort.Strings(keys)
	}
	return keys
}

// Text is what the thread shows for a template whose body Buzón does not have (Twilio
// Content SIDs, which are not synced): "[template: name] value1, value2". Synced templates
// show their body with the variables filled in (Template.Render).
func (t *TemplateRef) Text() string {
	s := "[template: " + t.Name + "]"
	keys := t.Keys()
	if len(keys) == 0 {
		return s
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = t.Variables[k]
	}
	return s + " " + strings.Join(vals, ", ")
}
