package inbox

import (
	"slices"
	"sort"
	"time"
)

// Cycle is one stretch of a conversation from its opening to its closing (C1's contact
// history): the line, the department it ended in, the agents who held it, the closing reason.
type Cycle struct {
	ConversationID string
	LineID         string
	DepartmentID   string
	Agents         []string
	OpenedAt       time.Time
	ClosedAt       time.Time // zero while open
	CloseReason    string
}

// Cycles reads a conversation's cycles from its events (oldest first): an opened or reopened
// event starts one; routing, assignments and transfers give its department and agents; a
// closed event ends it with its reason. The conversation itself completes the last cycle.
func Cycles(cv *Conversation, events []*Event) []Cycle {
	events = slices.Clone(events)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	var out []Cycle
	var cur *Cycle
	start := func(at time.Time) {
		out = append(out, Cycle{ConversationID: cv.ID, LineID: cv.LineID, OpenedAt: at})
		cur = &out[len(out)-1]
	}
	for _, e := range events {
		switch e.Type {
		case EventOpened, EventReopened:
			if cur != nil && cur.ClosedAt.IsZero() && e.Type == EventReopened {
				continue // a reopen of an open cycle does not start one
			}
			start(e.At)
		case EventRouted, EventAssigned, EventClaimed, EventTransferred, EventClosed:
			if cur == nil || !cur.ClosedAt.IsZero() {
				start(e.At) // a cycle whose opening is not recorded (opened before events were)
			}
		default:
			continue
		}
		if d := e.Details["department_id"]; d != "" {
			cur.DepartmentID = d
		}
		if a := e.Details["assignee_id"]; a != "" && !slices.Contains(cur.Agents, a) {
			cur.Agents = append(cur.Agents, a)
		}
		if e.Type == EventClosed {
			cur.ClosedAt, cur.CloseReason = e.At, e.Details["reason"]
		}
	}
	if cv.Status == StatusOpen {
		if cur == nil || !cur.ClosedAt.IsZero() {
			start(cv.CreatedAt)
		}
		if cv.DepartmentID != "" {
			cur.DepartmentID = cv.DepartmentID
		}
		if cv.AssigneeID != "" && !slices.Contains(cur.Agents, cv.AssigneeID) {
			cur.Agents = append(cur.Agents, cv.AssigneeID)
		}
	}
	return out
}
