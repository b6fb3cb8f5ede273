package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Template statuses, as the Cloud API names them [docs/protocol.md#templates]. Only an approved
// template can be sent.
const (
	TemplateApproved        = "APPROVED"
	TemplatePending         = "PENDING"
	TemplateRejected        = "REJECTED"
	TemplatePaused          = "PAUSED"
	TemplateDisabled        = "DISABLED"
	TemplateInAppeal        = "IN_APPEAL"
	TemplatePendingDeletion = "PENDING_DELETION"
	TemplateDeleted         = "DELETED"
	TemplateArchived        = "ARCHIVED"
	TemplateLimitExceeded   = "LIMIT_EXCEEDED"
)

// TemplateStatuses lists every status a stored template can have.
var TemplateStatuses = []string{TemplateApproved, TemplatePending, TemplateRejected, TemplatePaused, TemplateDisabled,
	TemplateInAppeal, TemplatePendingDeletion, TemplateDeleted, TemplateArchived, TemplateLimitExceeded}

// Errors of sending a template.
var (
	ErrTemplateNotApproved = errors.New("inbox: template is not approved")
	ErrTemplateNotSynced   = errors.New("inbox: template known from a status update only, not synced yet")
	ErrTemplateVariables   = errors.New("inbox: template variables do not match the template")
	ErrTemplateUnsupported = errors.New("inbox: template needs parameters Buzón does not send yet")
)

// Template is a message template of a WhatsApp Business Account (WABA) as the provider has it
// (M3), kept per organization: the organization sends it from its lines on that account.
type Template struct {
	OrgID    string
	Account  string // WABA id
	ID       string // the provider's template id
	Name     string
	Language string // es_AR, en_US...
	Category string // MARKETING, UTILITY, AUTHENTICATION
	Status   string
	// Reason is why the template was rejected, paused or disabled, as the provider says it.
	Reason          string
	ParameterFormat string // POSITIONAL or NAMED
	// Components are the provider's own JSON (header, body, footer, buttons); nil for a
	// template known from a status webhook only, until the next sync.
	Components json.RawMessage
	// StatusAt is when the status was observed: the webhook's event time or the sync's.
	StatusAt time.Time
	SyncedAt time.Time // when the components were last read from the provider; zero: never
}

// TemplateStatusOf maps a message_template_status_update event to the status it leaves the
// template in. Events that name no status (FLAGGED is a quality warning, UNARCHIVED returns
// to a status the event does not say, LOCKED/UNLOCKED concern editing) report false: the next
// sync reads the status.
func TemplateStatusOf(event string) (string, bool) {
	e := strings.ToUpper(event)
	if e == "REINSTATED" {
		return TemplateApproved, true
	}
	if slices.Contains(TemplateStatuses, e) {
		return e, true
	}
	return "", false
}

// Sendable reports whether the template can be sent now.
func (t *Template) Sendable() bool { return t.Status == TemplateApproved && t.Synced() }

// Synced reports whether the template's components are known.
func (t *Template) Synced() bool { return len(t.Components) > 0 }

// templateComponent is the part of a component Buzón reads.
type templateComponent struct {
	Type    string `json:"type"`
	Format  string `json:"format"`
	Text    string `json:"text"`
	Buttons []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"buttons"`
}

func (t *Template) components() []templateComponent {
	var cs []templateComponent
	_ = json.Unmarshal(t.Components, &cs) // the store keeps what the provider sent; unreadable reads as none
	return cs
}

// Body is the text of the template's body, with its variables as written ({{1}}, {{name}}).
func (t *Template) Body() string {
	for _, c := range t.components() {
		if strings.EqualFold(c.Type, "BODY") {
			return c.Text
		}
	}
	return ""
}

// templateVar is a variable in a template text: {{1}} or {{customer_name}}.
var templateVar = regexp.MustCompile(`\{\{\s*([a-z0-9_]+)\s*\}\}`)

// Variables lists the body's variables once each, in the order they are sent: positional ones
// by number, named ones alphabetically (the order TemplateRef.Keys sends them in).
func (t *Template) Variables() []string {
	var out []string
	for _, m := range templateVar.FindAllStringSubmatch(t.Body(), -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		return nil
	}
	ref := TemplateRef{Variables: map[string]string{}}
	for _, v := range out {
		ref.Variables[v] = v
	}
	return ref.Keys()
}

// Check tells whether ref can be sent as this template: an approved, synced template whose
// body variables are exactly the ones ref fills, with values WhatsApp accepts. Templates with
// media headers, header variables or dynamic URL buttons need parameters Buzón does not send
// yet and are refused too, rather than failed by the provider after the agent moved on.
func (t *Template) Check(ref *TemplateRef) error {
	if !t.Synced() {
		return fmt.Errorf("%w: %s (%s) is %s", ErrTemplateNotSynced, t.Name, t.Language, t.Status)
	}
	if t.Status != TemplateApproved {
		return fmt.Errorf("%w: %s (%s) is %s", ErrTemplateNotApproved, t.Name, t.Language, t.Status)
	}
	for _, c := range t.components() {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			if f := strings.ToUpper(c.Format); f != "" && f != "TEXT" {
				return fmt.Errorf("%w: its header is %s", ErrTemplateUnsupported, strings.ToLower(f))
			}
			if templateVar.MatchString(c.Text) {
				return fmt.Errorf("%w: its header has a variable", ErrTemplateUnsupported)
			}
		case "BUTTONS":
			for _, b := range c.Buttons {
				if templateVar.MatchString(b.URL) {
					return fmt.Errorf("%w: a button has a variable URL", ErrTemplateUnsupported)
				}
			}
		}
	}
	want, got := t.Variables(), ref.Keys()
	if !slices.Equal(want, got) {
		return fmt.Errorf("%w: %s takes %s; got %s", ErrTemplateVariables, t.Name, listVars(want), listVars(got))
	}
	for _, k := range got {
		// The Cloud API refuses such parameters (132018) [docs/protocol.md#sending].
		if v := ref.Variables[k]; strings.ContainsAny(v, "\n\t") || strings.Contains(v, "     ") {
			return fmt.Errorf("%w: {{%s}} has a line break, a tab or more than 4 spaces in a row", ErrTemplateVariables, k)
		}
	}
	return nil
}

func listVars(vs []string) string {
	switch len(vs) {
	case 0:
		return "no variables"
	case 1:
		return "1 variable ({{" + vs[0] + "}})"
	}
	return strconv.Itoa(len(vs)) + " variables ({{" + strings.Join(vs, "}}, {{") + "}})"
}

// Render is the body with ref's variables filled in: the text the customer reads, kept in the
// thread. Check it first; a variable ref does not fill stays as written.
func (t *Template) Render(ref *TemplateRef) string {
	return templateVar.ReplaceAllStringFunc(t.Body(), func(m string) string {
		if v, ok := ref.Variables[templateVar.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return m
	})
}
