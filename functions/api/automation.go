package main

import (
	"context"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/hours"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// A line's automation (admins): business hours (R2), auto-replies (R3) and auto-close of idle
// conversations (R4). Each is its own resource under the line, so setting one never
// overwrites another or the line's route.

// adminLine is the line of the path (access.ManageOrganization guards the routes).
func (a *api) adminLine(ctx context.Context, c *call) (*inbox.Line, error) {
	return a.st.Line(ctx, c.user.OrgID, c.params["id"])
}

// hoursJSON is a line's business hours: null when the line is always open.
type hoursJSON struct {
	Hours   *hoursSpecJSON `json:"hours"`
	OpenNow bool           `json:"open_now"`
}

// hoursSpecJSON is the body of PUT /v1/lines/{id}/hours and the hours of its answer.
type hoursSpecJSON struct {
	TimeZone string              `json:"time_zone"`
	Weekly   map[string][]string `json:"weekly"`
	Holidays []string            `json:"holidays,omitempty"`
}

func (a *api) hoursOf(l *inbox.Line) hoursJSON {
	out := hoursJSON{OpenNow: true}
	if h := l.Hours; h != nil {
		out.Hours = &hoursSpecJSON{TimeZone: h.TimeZone, Weekly: h.Weekly, Holidays: h.Holidays}
	}
	if l.Hours != nil {
		if sch, err := hours.New(*l.Hours); err == nil {
			out.OpenNow = sch.Open(a.now())
		}
	}
	return out
}

func (a *api) getLineHours(ctx context.Context, c *call) (any, error) {
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	return a.hoursOf(l), nil
}

// putLineHours sets a line's business hours: {"time_zone", "weekly", "holidays"}, checked by
// hours.New (a 422 gives its reason).
func (a *api) putLineHours(ctx context.Context, c *call) (any, error) {
	var body hoursSpecJSON
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	spec := hours.Spec{TimeZone: body.TimeZone, Weekly: body.Weekly, Holidays: body.Holidays}
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	if _, err := hours.New(spec); err != nil {
		return nil, unprocessable("bad_hours", strings.TrimPrefix(err.Error(), hours.ErrInvalid.Error()+": "))
	}
	err = a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "hours", Before: a.hoursOf(l), After: spec}, func() error {
		return a.st.SetLineHours(ctx, l.OrgID, l.ID, &spec)
	})
	if err != nil {
		return nil, err
	}
	l.Hours = &spec
	return a.hoursOf(l), nil
}

// deleteLineHours makes a line always open.
func (a *api) deleteLineHours(ctx context.Context, c *call) (any, error) {
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	err = a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "hours", Before: a.hoursOf(l)}, func() error {
		return a.st.SetLineHours(ctx, l.OrgID, l.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	l.Hours = nil
	return a.hoursOf(l), nil
}

type autoReplyJSON struct {
	Trigger string `json:"trigger"`
	Text    string `json:"text"`
}

type autoRepliesJSON struct {
	Items []autoReplyJSON `json:"items"`
}

func autoRepliesOf(l *inbox.Line) autoRepliesJSON {
	out := autoRepliesJSON{Items: []autoReplyJSON{}}
	for _, r := range l.AutoReplies {
		out.Items = append(out.Items, autoReplyJSON{Trigger: string(r.Trigger), Text: r.Text})
	}
	return out
}

func (a *api) getAutoReplies(ctx context.Context, c *call) (any, error) {
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	return autoRepliesOf(l), nil
}

// putAutoReplies replaces a line's auto-replies ({"items": [{"trigger", "text"}]}, in the
// order they are tried; an empty list turns them off).
func (a *api) putAutoReplies(ctx context.Context, c *call) (any, error) {
	var body autoRepliesJSON
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	rs := make([]inbox.AutoReply, len(body.Items))
	for i, it := range body.Items {
		rs[i] = inbox.AutoReply{Trigger: inbox.Trigger(it.Trigger), Text: it.Text}
	}
	if err := inbox.ValidateAutoReplies(rs); err != nil {
		return nil, unprocessable("bad_auto_reply", strings.TrimPrefix(err.Error(), inbox.ErrBadAutoReply.Error()+": "))
	}
	for _, r := range rs {
		// Refused now, while the admin is there, rather than failed at every send.
		if err := workflow.CheckProvider(l, &inbox.Message{Type: "text", Text: r.Text}); err != nil {
			return nil, err
		}
	}
	before := autoRepliesOf(l)
	err = a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "auto_replies", Before: before, After: rs}, func() error {
		return a.st.SetLineAutoReplies(ctx, l.OrgID, l.ID, rs)
	})
	if err != nil {
		return nil, err
	}
	l.AutoReplies = rs
	return autoRepliesOf(l), nil
}

// Bounds of auto-close: not sooner than an hour of silence, not later than 90 days.
const (
	minIdleMinutes = 60
	maxIdleMinutes = 90 * 24 * 60
)

type autoCloseJSON struct {
	IdleMinutes int `json:"idle_minutes"` // 0: off
}

func (a *api) getAutoClose(ctx context.Context, c *call) (any, error) {
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	idle, err := a.st.LineAutoClose(ctx, l.OrgID, l.ID)
	if err != nil {
		return nil, err
	}
	return autoCloseJSON{IdleMinutes: int(idle / time.Minute)}, nil
}

// putAutoClose sets after how many minutes without activity the line's open conversations
// close by themselves (the window job closes them with reason "idle"); 0 turns it off.
func (a *api) putAutoClose(ctx context.Context, c *call) (any, error) {
	var body autoCloseJSON
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	l, err := a.adminLine(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := lineWritable(l); err != nil {
		return nil, err
	}
	if body.IdleMinutes != 0 && (body.IdleMinutes < minIdleMinutes || body.IdleMinutes > maxIdleMinutes) {
		return nil, unprocessable("bad_auto_close", "idle_minutes is 0 (off) or from 60 to 129600 (90 days)")
	}
	err = a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "auto_close", After: body}, func() error {
		return a.st.SetAutoClose(ctx, store.AutoClose{OrgID: l.OrgID, LineID: l.ID, Idle: time.Duration(body.IdleMinutes) * time.Minute})
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}
