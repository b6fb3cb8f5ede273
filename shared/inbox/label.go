package inbox

import (
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of labels.
var (
	ErrBadLabel      = errors.New("inbox: label needs a name (1-50 characters), a description of at most 200 and a color #RRGGBB")
	ErrTooManyLabels = errors.New("inbox: too many labels on the conversation")
)

// MaxConversationLabels bounds the labels of one conversation, so the conversation item (and
// its index copies) stays under 1 KB.
const MaxConversationLabels = 10

// DefaultLabelColor is the color of a label created without one (inline, from a name).
const DefaultLabelColor = "#9E9E9E"

var labelColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// Label tags conversations of an organization (A9); views filter by it (V5).
type Label struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	Color       string
	CreatedBy   string
	CreatedAt   time.Time
}

// NewLabel returns a valid label of org, or ErrBadLabel. Its id derives from the folded name,
// so "Urgente" and "urgente " are one label, and two agents creating it at once create it once.
func NewLabel(org, name, description, color, by string, now time.Time) (*Label, error) {
	name = strings.TrimSpace(name)
	if color == "" {
		color = DefaultLabelColor
	}
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 50 || utf8.RuneCountInString(description) > 200 || !labelColor.MatchString(color) || len(SearchWords(name)) == 0 {
		return nil, ErrBadLabel
	}
	return &Label{ID: LabelID(name), OrgID: org, Name: name, Description: description, Color: strings.ToUpper(color),
		CreatedBy: by, CreatedAt: now}, nil
}

// LabelID is the id of the label named name: short, since conversations carry up to
// MaxConversationLabels of them.
func LabelID(name string) string {
	return "lb_" + hashID(strings.Join(SearchWords(name), " "))[:8]
}

// Relabel adds and removes labels. It reports what actually changed; adding a label the
// conversation has, or removing one it lacks, is no change.
func (c *Conversation) Relabel(add, remove []string) (added, removed []string, err error) {
	has := map[string]bool{}
	for _, l := range c.Labels {
		has[l] = true
	}
	drop := map[string]bool{}
	for _, l := range remove {
		if has[l] && !drop[l] {
			drop[l] = true
			removed = append(removed, l)
		}
	}
	var next []string
	for _, l := range c.Labels {
		if !drop[l] {
			next = append(next, l)
		}
	}
	for _, l := range add {
		if has[l] {
			continue
		}
		has[l] = true
		next = append(next, l)
		added = append(added, l)
	}
	if len(next) > MaxConversationLabels {
		return nil, nil, ErrTooManyLabels
	}
	c.Labels = next
	return added, removed, nil
}
