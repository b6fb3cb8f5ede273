// Package routing gives conversations to agents by the assignment rules of their line, or of
// their department when the line has none (R1), within the agents' availability and capacity
// (A10). Rules run when a conversation opens, when it comes back to the shared inbox, and when
// the customer of an away agent writes again on a line that re-routes; an agent who becomes
// free (available again, or under capacity) takes the conversations that waited longest, at
// once.
//
// An agent is eligible for a conversation when they are a member of its department, authorized
// on its line, available and under capacity. Every assignment is one conditional transaction
// (store.AutoAssign) that checks availability and capacity at that instant and moves the open
// counts, so concurrent decisions never put an agent over capacity nor assign a conversation
// twice; a decision made on a stale reading is refused and made again.
package routing

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// Triggers: why the rules ran, recorded on the assigned event (V7).
const (
	TriggerOpened       = "opened"        // a new conversation or a new cycle
	TriggerAgentFree    = "agent_free"    // an agent became available or went under capacity
	TriggerAssigneeAway = "assignee_away" // the customer wrote while the assignee was away
	TriggerReturned     = "returned"      // an agent gave it back to the shared inbox
	TriggerTransferred  = "transferred"   // it was moved to another department
)

// Router runs the assignment rules. It is safe for concurrent use. It keeps an
// organization's users, lines and rule lists for CacheTTL (agents' workloads are always read
// fresh), so a change of membership or rules reaches automatic assignment within that time.
type Router struct {
	st  *store.Store
	now func() time.Time
	// CacheTTL is how long users, lines and rule lists are kept; 0 reads them every time.
	CacheTTL time.Duration

	mu    sync.Mutex
	users map[string]cached[[]*inbox.User]
	lines map[string]cached[*inbox.Line]
	rules map[string]cached[*inbox.AssignmentRules]
}

type cached[T any] struct {
	v  T
	at time.Time
}

// New returns a router over st.
func New(st *store.Store, now func() time.Time) *Router {
	return &Router{st: st, now: now, CacheTTL: 10 * time.Second,
		users: map[string]cached[[]*inbox.User]{}, lines: map[string]cached[*inbox.Line]{}, rules: map[string]cached[*inbox.AssignmentRules]{}}
}

// Opened runs the rules for a conversation that opened (a new conversation or a new cycle):
// the ingest's Opened hook. No rule, or no eligible agent, leaves it in the shared inbox.
func (r *Router) Opened(ctx context.Context, c *inbox.Conversation, line *inbox.Line) error {
	_, err := r.Route(ctx, c, line, "", TriggerOpened)
	return err
}

// Route runs the rules for a conversation waiting in the shared inbox, leaving out agent
// exclude (who just gave it back), and returns the agent it went to ("" if none).
func (r *Router) Route(ctx context.Context, c *inbox.Conversation, line *inbox.Line, exclude, trigger string) (string, error) {
	if !c.Waiting() || line == nil {
		return "", nil
	}
	rules, err := r.rulesFor(ctx, c.OrgID, line.ID, c.DepartmentID)
	if err != nil || rules == nil || len(rules.Rules) == 0 {
		return "", err
	}
	d, err := r.decision(ctx, c, line, "", exclude, trigger)
	if err != nil {
		return "", err
	}
	return d.run(ctx, rules.Rules)
}

// CustomerWrote handles a customer message on a conversation that is open and assigned: if
// its assignee is away and its line re-routes (when_assignee_away: reroute), the rules run
// again without them; when no rule finds someone, it goes back to the shared inbox.
func (r *Router) CustomerWrote(ctx context.Context, c *inbox.Conversation, line *inbox.Line) error {
	holder := c.Holder()
	if holder == "" || line == nil {
		return nil
	}
	rules, err := r.rulesFor(ctx, c.OrgID, line.ID, c.DepartmentID)
	if err != nil || rules == nil || rules.WhenAway != inbox.AwayReroute {
		return err
	}
	w, err := r.st.Workload(ctx, c.OrgID, holder, false)
	if err != nil || w.Available {
		return err
	}
	d, err := r.decision(ctx, c, line, holder, holder, TriggerAssigneeAway)
	if err != nil {
		return err
	}
	agent, err := d.run(ctx, rules.Rules)
	if err != nil || agent != "" || d.gone {
		return err
	}
	_, err = r.st.AutoAssign(ctx, c.OrgID, c.ID, store.Assignment{}, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if !d.still(cv) {
			return nil, store.ErrNoChange
		}
		if err := cv.Unassign(TriggerAssigneeAway); err != nil {
			return nil, err
		}
		return inbox.NewEvent(cv.ID, inbox.EventReturned, "", r.now(), map[string]string{"from": holder, "rule": TriggerAssigneeAway}), nil
	})
	if err == nil {
		slog.InfoContext(ctx, "conversation returned: assignee away", "conversation_id", c.ID, "from", holder)
	}
	return err
}

// maxDrainScan bounds the waiting conversations one Drain looks at: the ones an agent may
// not take (other lines, rules that name other agents) are skipped, at most this many.
const maxDrainScan = 200

// Drain gives agent of org, if available and under capacity, the conversations waiting in
// their departments' shared inboxes that they are eligible for, the longest waiting first,
// until they are full (at most maxDrainScan looked at): each goes to them if a rule of its
// line would choose them were they the only agent free. skip leaves conversations out (the
// one the agent just returned). It returns how many they took.
func (r *Router) Drain(ctx context.Context, org, agent string, skip ...string) (int, error) {
	u, err := r.st.User(ctx, org, agent)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil || !access.HasInbox(u) || len(u.Departments) == 0 {
		return 0, err
	}
	w, err := r.st.Workload(ctx, org, agent, true)
	if err != nil || !w.HasRoom() {
		return 0, err
	}
	taken, scanned, cursor := 0, 0, ""
	for scanned < maxDrainScan {
		waiting, next, err := r.st.Waiting(ctx, org, u.Departments, cursor, 25)
		if err != nil {
			return taken, err
		}
		for _, c := range waiting {
			scanned++
			if slices.Contains(skip, c.ID) {
				continue
			}
			line, err := r.line(ctx, org, c.LineID)
			if err != nil {
				return taken, err
			}
			if line == nil || !line.Authorizes(agent) {
				continue
			}
			rules, err := r.rulesFor(ctx, org, line.ID, c.DepartmentID)
			if err != nil {
				return taken, err
			}
			if rules == nil || len(rules.Rules) == 0 {
				continue
			}
			d := &decision{r: r, c: c, line: line, members: []*inbox.User{u}, loads: map[string]inbox.Workload{agent: w}, trigger: TriggerAgentFree}
			got, err := d.run(ctx, rules.Rules)
			if err != nil {
				return taken, err
			}
			if got == agent {
				taken++
			}
			if w = d.loads[agent]; !w.HasRoom() {
				return taken, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return taken, nil
}

// decision is one run of the rules for one conversation.
type decision struct {
	r       *Router
	c       *inbox.Conversation // as the trigger saw it
	line    *inbox.Line
	from    string // the (away) assignee it is taken from; "" when it waits
	trigger string
	members []*inbox.User // members of the department authorized on the line, by id
	loads   map[string]inbox.Workload
	contact *inbox.Contact
	gone    bool // the conversation changed meanwhile: nothing more to decide
}

func (r *Router) decision(ctx context.Context, c *inbox.Conversation, line *inbox.Line, from, exclude, trigger string) (*decision, error) {
	users, err := r.orgUsers(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	d := &decision{r: r, c: c, line: line, from: from, trigger: trigger}
	for _, u := range users {
		if u.ID != exclude && access.HasInbox(u) && u.InDepartment(c.DepartmentID) && line.Authorizes(u.ID) {
			d.members = append(d.members, u)
		}
	}
	slices.SortFunc(d.members, func(a, b *inbox.User) int { return strings.Compare(a.ID, b.ID) })
	return d, d.refresh(ctx)
}

// refresh reads the members' workloads again.
func (d *decision) refresh(ctx context.Context) error {
	ids := make([]string, len(d.members))
	for i, u := range d.members {
		ids[i] = u.ID
	}
	loads, err := d.r.st.Workloads(ctx, d.c.OrgID, ids)
	d.loads = loads
	return err
}

// still reports whether cv is still the conversation this decision is about.
func (d *decision) still(cv *inbox.Conversation) bool {
	return cv.Status == inbox.StatusOpen && cv.Cycle == d.c.Cycle && cv.DepartmentID == d.c.DepartmentID && cv.AssigneeID == d.from
}

// free lists the members with room, as last read.
func (d *decision) free() []inbox.Workload {
	var out []inbox.Workload
	for _, u := range d.members {
		if w := d.loads[u.ID]; w.HasRoom() {
			out = append(out, w)
		}
	}
	return out
}

func (d *decision) hasRoom(agent string) bool {
	for _, u := range d.members {
		if u.ID == agent {
			return d.loads[agent].HasRoom()
		}
	}
	return false
}

// guardedAttempts is how many times a rule that orders agents (least loaded, round robin)
// decides again after a refusal that says its reading was stale, before it takes any agent
// with room: under a burst of concurrent openings the order is approximate, capacity never.
const guardedAttempts = 8

// run applies the rules in order and returns the agent the conversation went to, "" if no rule
// found one (or the conversation changed meanwhile: d.gone).
func (d *decision) run(ctx context.Context, rules []inbox.Rule) (string, error) {
	for _, rule := range rules {
		switch rule.Type {
		case inbox.RuleContactOwner, inbox.RuleContactField, inbox.RuleLastAgent:
			target, err := d.target(ctx, rule)
			if err != nil {
				return "", err
			}
			if target == "" || !d.hasRoom(target) {
				continue
			}
			if ok, err := d.try(ctx, rule, store.Assignment{Agent: target}); ok || err != nil || d.gone {
				return d.result(ok, target, err)
			}
		case inbox.RuleLeastLoaded, inbox.RuleRoundRobin:
			for attempt := 0; ; attempt++ {
				free := d.free()
				if len(free) == 0 {
					break
				}
				to := d.pick(rule.Type, free, attempt)
				ok, err := d.try(ctx, rule, to)
				if ok || err != nil || d.gone {
					return d.result(ok, to.Agent, err)
				}
				if attempt >= guardedAttempts+len(d.members) {
					break
				}
				if err := d.refresh(ctx); err != nil {
					return "", err
				}
			}
		case inbox.RuleRandom:
			free := d.free()
			rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
			for _, w := range free {
				if ok, err := d.try(ctx, rule, store.Assignment{Agent: w.UserID}); ok || err != nil || d.gone {
					return d.result(ok, w.UserID, err)
				}
			}
		}
	}
	return "", nil
}

func (d *decision) result(ok bool, agent string, err error) (string, error) {
	if !ok || err != nil {
		return "", err
	}
	return agent, nil
}

// pick chooses among the free members for the least-loaded or round-robin rule, on attempt
// (0 first; a refusal that says the reading was stale asks for another).
//
// Least loaded: the fewest open conversations, guarded by that count. Decisions made at the
// same time on the same reading all see the same least-loaded agent; each attempt widens the
// choice, at random, to the agents within attempt conversations of the least, and loosens the
// guard as much, so a burst spreads instead of herding onto one agent and the imbalance stays
// within the attempts it took (capacity is checked whatever the attempt).
//
// Round robin: the oldest last automatic assignment (ties by id), guarded by that time.
func (d *decision) pick(rule inbox.RuleType, free []inbox.Workload, attempt int) store.Assignment {
	guarded := attempt < guardedAttempts
	if rule == inbox.RuleRoundRobin {
		w := slices.MinFunc(free, func(a, b inbox.Workload) int {
			if c := a.LastAssignedAt.Compare(b.LastAssignedAt); c != 0 {
				return c
			}
			return strings.Compare(a.UserID, b.UserID)
		})
		to := store.Assignment{Agent: w.UserID}
		if guarded {
			last := w.LastAssignedAt
			to.LastAt = &last
		}
		return to
	}
	least := slices.MinFunc(free, func(a, b inbox.Workload) int { return a.Open - b.Open }).Open
	var near []inbox.Workload
	for _, w := range free {
		if w.Open <= least+attempt {
			near = append(near, w)
		}
	}
	to := store.Assignment{Agent: near[rand.IntN(len(near))].UserID}
	if guarded {
		most := least + attempt
		to.OpenAtMost = &most
	}
	return to
}

// target is the one agent a contact rule names, "" if none.
func (d *decision) target(ctx context.Context, rule inbox.Rule) (string, error) {
	if rule.Type == inbox.RuleLastAgent {
		return d.r.st.LastAgent(ctx, d.c.OrgID, d.c.Contact.WaID)
	}
	if d.contact == nil {
		ct, err := d.r.st.Contact(ctx, d.c.OrgID, d.c.Contact.WaID)
		if errors.Is(err, store.ErrNotFound) {
			ct, err = &inbox.Contact{}, nil
		}
		if err != nil {
			return "", err
		}
		d.contact = ct
	}
	if rule.Type == inbox.RuleContactOwner {
		return d.contact.OwnerID, nil
	}
	// A custom field names a user by id or by email.
	v := strings.TrimSpace(d.contact.Fields[rule.Field])
	if v == "" {
		return "", nil
	}
	for _, u := range d.members {
		if u.ID == v || strings.EqualFold(u.Email, v) {
			return u.ID, nil
		}
	}
	return "", nil
}

// try assigns the conversation to to.Agent by rule. It reports false when the agent turned
// out busy (their workload, as the refusal found it, replaces the one read) and sets d.gone
// when the conversation no longer waits for this decision.
func (d *decision) try(ctx context.Context, rule inbox.Rule, to store.Assignment) (bool, error) {
	now := d.r.now()
	to.At = now
	_, err := d.r.st.AutoAssign(ctx, d.c.OrgID, d.c.ID, to, func(cv *inbox.Conversation) (*inbox.Event, error) {
		if !d.still(cv) {
			return nil, errGone
		}
		if err := cv.Assign(to.Agent, string(rule.Type)); err != nil {
			return nil, err
		}
		details := map[string]string{"rule": string(rule.Type), "assignee_id": to.Agent, "trigger": d.trigger}
		if rule.Field != "" {
			details["field"] = rule.Field
		}
		if d.from != "" {
			details["from"] = d.from
		}
		return inbox.NewEvent(cv.ID, inbox.EventAssigned, "", now, details), nil
	})
	var busy *store.AgentBusyError
	switch {
	case errors.As(err, &busy):
		d.loads[to.Agent] = busy.Workload
		return false, nil
	case errors.Is(err, errGone):
		d.gone = true
		return false, nil
	case err != nil:
		return false, err
	}
	w := d.loads[to.Agent]
	w.Open++
	w.LastAssignedAt = now
	d.loads[to.Agent] = w
	slog.InfoContext(ctx, "conversation assigned", "conversation_id", d.c.ID, "assignee_id", to.Agent, "rule", rule.Type, "trigger", d.trigger)
	return true, nil
}

var errGone = errors.New("routing: the conversation changed meanwhile")

func (r *Router) fresh(at time.Time) bool { return r.CacheTTL > 0 && r.now().Sub(at) < r.CacheTTL }

func (r *Router) orgUsers(ctx context.Context, org string) ([]*inbox.User, error) {
	r.mu.Lock()
	c, ok := r.users[org]
	r.mu.Unlock()
	if ok && r.fresh(c.at) {
		return c.v, nil
	}
	users, _, _, err := r.st.OrgItems(ctx, org)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.users[org] = cached[[]*inbox.User]{users, r.now()}
	r.mu.Unlock()
	return users, nil
}

// line reads a line of org (nil if it does not exist).
func (r *Router) line(ctx context.Context, org, id string) (*inbox.Line, error) {
	k := org + "\x00" + id
	r.mu.Lock()
	c, ok := r.lines[k]
	r.mu.Unlock()
	if ok && r.fresh(c.at) {
		return c.v, nil
	}
	l, err := r.st.Line(ctx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		l, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.lines[k] = cached[*inbox.Line]{l, r.now()}
	r.mu.Unlock()
	return l, nil
}

func (r *Router) rulesFor(ctx context.Context, org, line, dept string) (*inbox.AssignmentRules, error) {
	k := org + "\x00" + line + "\x00" + dept
	r.mu.Lock()
	c, ok := r.rules[k]
	r.mu.Unlock()
	if ok && r.fresh(c.at) {
		return c.v, nil
	}
	rules, _, err := r.st.AssignmentRules(ctx, org, line, dept)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.rules[k] = cached[*inbox.AssignmentRules]{rules, r.now()}
	r.mu.Unlock()
	return rules, nil
}

// Forget drops what the router keeps of org, so a change an admin just made applies at once
// in this process.
func (r *Router) Forget(org string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.users, org)
	for k := range r.lines {
		if strings.HasPrefix(k, org+"\x00") {
			delete(r.lines, k)
		}
	}
	for k := range r.rules {
		if strings.HasPrefix(k, org+"\x00") {
			delete(r.rules, k)
		}
	}
}
