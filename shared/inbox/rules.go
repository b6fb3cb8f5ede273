package inbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// RuleType names an assignment rule (R1).
type RuleType string

// Assignment rules. Each names at most one agent, or orders the eligible ones; the first rule
// that finds an eligible agent wins.
const (
	RuleContactOwner RuleType = "contact_owner" // the contact's owner (a seller's customer)
	RuleContactField RuleType = "contact_field" // the user a custom field of the contact names
	RuleLastAgent    RuleType = "last_agent"    // the agent who last held a conversation of the contact
	RuleLeastLoaded  RuleType = "least_loaded"  // the eligible agent with the fewest open conversations
	RuleRoundRobin   RuleType = "round_robin"   // the next eligible agent in turn
	RuleRandom       RuleType = "random"        // any eligible agent
	// RuleQueue is not configured: it records that a waiting conversation went to an agent
	// who became free (available again, or under capacity).
	RuleQueue RuleType = "queue"
)

// Rule is one step of an assignment rule list.
type Rule struct {
	Type  RuleType
	Field string // RuleContactField: the custom field that holds a user's id or email
}

// AwayPolicy says what a customer message does to a conversation whose assignee is away.
type AwayPolicy string

// Away policies.
const (
	AwayKeep    AwayPolicy = "keep"    // it stays with the assignee
	AwayReroute AwayPolicy = "reroute" // the rules run again; no match returns it to the shared inbox
)

// AssignmentRules is the ordered rule list of a line, or of a department (used by the lines
// routed to it that have no list of their own). An empty list assigns nothing automatically.
type AssignmentRules struct {
	Rules    []Rule
	WhenAway AwayPolicy
}

// MaxRules caps a rule list: each rule may cost reads when a conversation opens.
const MaxRules = 10

// ErrBadRules refuses an assignment rule list.
var ErrBadRules = errors.New("inbox: invalid assignment rules")

// Validate checks the rule list: known types, a field for (and only for) contact_field, no
// rule twice, at most MaxRules; it fills in the default away policy (keep).
func (r *AssignmentRules) Validate() error {
	if len(r.Rules) > MaxRules {
		return fmt.Errorf("%w: at most %d rules", ErrBadRules, MaxRules)
	}
	seen := map[Rule]bool{}
	for i := range r.Rules {
		rule := &r.Rules[i]
		rule.Field = strings.TrimSpace(rule.Field)
		switch rule.Type {
		case RuleContactField:
			if rule.Field == "" || utf8.RuneCountInString(rule.Field) > 64 {
				return fmt.Errorf("%w: contact_field needs field (1 to 64 characters)", ErrBadRules)
			}
		case RuleContactOwner, RuleLastAgent, RuleLeastLoaded, RuleRoundRobin, RuleRandom:
			if rule.Field != "" {
				return fmt.Errorf("%w: only contact_field takes a field", ErrBadRules)
			}
		default:
			return fmt.Errorf("%w: unknown rule type %q (use contact_owner, contact_field, last_agent, least_loaded, round_robin or random)", ErrBadRules, rule.Type)
		}
		if seen[*rule] {
			return fmt.Errorf("%w: %s appears twice", ErrBadRules, rule.Type)
		}
		seen[*rule] = true
	}
	switch r.WhenAway {
	case "":
		r.WhenAway = AwayKeep
	case AwayKeep, AwayReroute:
	default:
		return fmt.Errorf("%w: when_assignee_away must be keep or reroute", ErrBadRules)
	}
	return nil
}

// Workload is an agent's automatic-assignment state: whether they take conversations, how
// many at most, and how many open conversations they hold.
type Workload struct {
	UserID    string
	Available bool
	MaxOpen   int // 0: no limit
	Open      int
	// LastAssignedAt is the agent's last automatic assignment: round robin gives the next
	// conversation to the eligible agent whose turn is the oldest.
	LastAssignedAt time.Time
}

// HasRoom reports whether automatic assignment may give the agent one more conversation.
func (w Workload) HasRoom() bool {
	return w.Available && (w.MaxOpen == 0 || w.Open < w.MaxOpen)
}

// Holder is the agent whose workload counts the conversation: its assignee while it is open.
func (c *Conversation) Holder() string {
	if c.Status != StatusOpen {
		return ""
	}
	return c.AssigneeID
}

// Waiting reports whether the conversation waits in its department's shared inbox for an
// agent: open, unassigned and routed.
func (c *Conversation) Waiting() bool {
	return c.Status == StatusOpen && c.AssigneeID == "" && c.DepartmentID != ""
}

// Unassign returns the conversation to its department's shared inbox by the system (an away
// assignee's conversation that no rule could give to someone else), recording why.
func (c *Conversation) Unassign(why string) error {
	if err := c.Return(); err != nil {
		return err
	}
	c.RouteRule = why
	return nil
}
