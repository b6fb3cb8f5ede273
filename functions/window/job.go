package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/routing"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// The job reads whole 10-minute buckets of the window-expiry index, each once per purpose:
//   - a bucket's windows are warned about when the whole bucket is within the lead of the
//     tick (so every warning comes between lead-10min and lead before the window closes);
//   - they are marked closed when the whole bucket has passed (within 10 minutes of the
//     close; the event carries the exact time).
//
// The checkpoint names the next bucket of each kind, so a tick reads a bucket only when one
// becomes due (one tick in ten reads anything), a tick that fires twice finds nothing left
// to do, and ticks that did not run are caught up bucket by bucket. Event ids derive from the
// window's close, so two runs that overlap write each event once.
const (
	// firstLookback is how far back the very first run marks closed windows.
	firstLookback = time.Hour
	// maxCatchUp bounds the catch-up after a long stop: windows that closed earlier are not
	// marked any more (nobody is waiting on that news).
	maxCatchUp = 7 * 24 * time.Hour
	// margin is the time kept at the end of an invocation to save the checkpoint: a long
	// catch-up stops there and the next tick goes on.
	margin = 5 * time.Second
	// idleEvery is how often idle conversations are looked for.
	idleEvery = store.WindowBucket
	// idleBatch caps the conversations auto-closed per line and run.
	idleBatch = 500
	// writers is how many events are written at once.
	writers = 16
)

// CloseReasonIdle is the closing reason of an auto-closed conversation.
const CloseReasonIdle = workflow.CloseReasonIdle

type job struct {
	st   *store.Store
	flow *workflow.Service // closes idle conversations as every action does
	lead time.Duration
	now  func() time.Time
}

// newJob returns the job; automatic assignment takes its turn after each auto-close, as after
// an agent's close (the agent who held it may take a waiting one).
func newJob(st *store.Store, lead time.Duration, now func() time.Time) *job {
	return &job{st: st, flow: workflow.New(st, nil, routing.New(st, now), now), lead: lead, now: now}
}

// report is what a run did. The scheduler ignores it; logs and tests read it.
type report struct {
	At         time.Time `json:"at"`
	Buckets    int       `json:"buckets"`     // bucket reads
	Warned     int       `json:"warned"`      // "window closing" events written
	Closed     int       `json:"closed"`      // "window closed" events written
	AutoClosed int       `json:"auto_closed"` // conversations closed for being idle
	StaleSends int       `json:"stale_sends"` // outbound messages failed for being left pending
	Behind     bool      `json:"behind"`      // stopped before catching up; the next tick goes on

	warnDue, closedDue []string // conversations found due, written now or before
	autoClosed         []string
}

// handle runs the job for the scheduled event's time: a retried or duplicated event has the
// same time, and so does the same work.
func (j *job) handle(ctx context.Context, ev lambdaevents.EventBridgeEvent) (*report, error) {
	at := ev.Time
	if at.IsZero() {
		at = j.now()
	}
	rep, err := j.run(ctx, at)
	if err != nil {
		slog.ErrorContext(ctx, "window job failed; the next tick goes on from the checkpoint", "error", err,
			"warned", rep.Warned, "closed", rep.Closed, "auto_closed", rep.AutoClosed)
		return rep, err
	}
	slog.InfoContext(ctx, "window job done", "at", rep.At, "buckets", rep.Buckets, "warned", rep.Warned,
		"closed", rep.Closed, "auto_closed", rep.AutoClosed, "stale_sends", rep.StaleSends, "behind", rep.Behind)
	return rep, nil
}

// run does the work due at t, from the checkpoint, and moves the checkpoint.
func (j *job) run(ctx context.Context, t time.Time) (*report, error) {
	t = t.UTC()
	rep := &report{At: t}
	saved, err := j.st.LoadWindowCheckpoint(ctx)
	if err != nil {
		return rep, err
	}
	cp := saved
	now := store.WindowBucketOf(t)
	if cp.ClosedNext.IsZero() {
		cp.ClosedNext = now.Add(-firstLookback)
	}
	if floor := now.Add(-maxCatchUp); cp.ClosedNext.Before(floor) {
		slog.WarnContext(ctx, "the window job was stopped for long: older closed windows are not marked", "from", cp.ClosedNext, "to", floor)
		cp.ClosedNext = floor
	}
	// Buckets that have passed hold no window left to warn about.
	if cp.WarnNext.Before(now) {
		cp.WarnNext = now
	}

	var runErr error
	for b := cp.WarnNext; !b.Add(store.WindowBucket).After(t.Add(j.lead)); b = b.Add(store.WindowBucket) {
		if j.late(ctx) {
			rep.Behind = true
			break
		}
		if runErr = j.warn(ctx, b, t, rep); runErr != nil {
			break
		}
		cp.WarnNext = b.Add(store.WindowBucket)
	}
	for b := cp.ClosedNext; runErr == nil && !b.Add(store.WindowBucket).After(t); b = b.Add(store.WindowBucket) {
		if j.late(ctx) {
			rep.Behind = true
			break
		}
		if runErr = j.closed(ctx, b, rep); runErr != nil {
			break
		}
		cp.ClosedNext = b.Add(store.WindowBucket)
	}
	if runErr == nil && !rep.Behind && now.Sub(cp.IdleAt) >= idleEvery {
		if runErr = j.autoClose(ctx, t, rep); runErr == nil {
			cp.IdleAt = now
		}
	}

	if runErr == nil && !rep.Behind {
		runErr = j.sweepSends(ctx, t, &cp, rep)
	}

	if !sameCheckpoint(cp, saved) {
		switch err := j.st.SaveWindowCheckpoint(ctx, cp); {
		case errors.Is(err, store.ErrConflict):
			slog.InfoContext(ctx, "another run of the window job got further", "at", t)
		case err != nil:
			runErr = errors.Join(runErr, err)
		}
	}
	return rep, runErr
}

func sameCheckpoint(a, b store.WindowCheckpoint) bool {
	return a.WarnNext.Equal(b.WarnNext) && a.ClosedNext.Equal(b.ClosedNext) && a.IdleAt.Equal(b.IdleAt) && a.SendsNext.Equal(b.SendsNext)
}

// late reports whether the invocation is about to time out.
func (j *job) late(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < margin
}

// warn records "window closing" for each conversation of bucket b whose window is still open
// at t.
func (j *job) warn(ctx context.Context, b, t time.Time, rep *report) error {
	convs, err := j.st.WindowBucketConversations(ctx, b)
	if err != nil {
		return err
	}
	rep.Buckets++
	due := b.Add(store.WindowBucket).Add(-j.lead) // when the whole bucket came within the lead
	var evs []*inbox.Event
	for _, c := range convs {
		if !c.WindowExpiresAt.After(t) {
			continue // closed already: it gets "window closed" instead
		}
		rep.warnDue = append(rep.warnDue, c.ID)
		evs = append(evs, windowEvent(c, inbox.EventWindowClosing, "e_wclosing_", due, j.lead))
	}
	n, err := j.write(ctx, evs)
	rep.Warned += n
	return err
}

// closed records "window closed" for each conversation of bucket b, which has passed.
func (j *job) closed(ctx context.Context, b time.Time, rep *report) error {
	convs, err := j.st.WindowBucketConversations(ctx, b)
	if err != nil {
		return err
	}
	rep.Buckets++
	evs := make([]*inbox.Event, 0, len(convs))
	for _, c := range convs {
		rep.closedDue = append(rep.closedDue, c.ID)
		evs = append(evs, windowEvent(c, inbox.EventWindowClosed, "e_wclosed_", c.WindowExpiresAt, 0))
	}
	n, err := j.write(ctx, evs)
	rep.Closed += n
	return err
}

// windowEvent is a system event about c's window, for its assignee. Its id derives from the
// window's close, so the same news is recorded once, and a window extended by the customer
// gets its own.
func windowEvent(c *inbox.Conversation, t inbox.EventType, prefix string, at time.Time, lead time.Duration) *inbox.Event {
	d := map[string]string{"window_expires_at": c.WindowExpiresAt.UTC().Format(time.RFC3339Nano)}
	if c.AssigneeID != "" {
		d["assignee_id"] = c.AssigneeID
	}
	if c.DepartmentID != "" {
		d["department_id"] = c.DepartmentID
	}
	if lead > 0 {
		d["lead"] = lead.String()
	}
	return &inbox.Event{ID: prefix + strconv.FormatInt(c.WindowExpiresAt.UnixMilli(), 10), ConversationID: c.ID,
		Type: t, At: at, Details: d}
}

// write puts the events, several at once; an event already recorded is skipped. It returns
// how many it wrote.
func (j *job) write(ctx context.Context, evs []*inbox.Event) (int, error) {
	var (
		mu      sync.Mutex
		written int
		errs    []error
		wg      sync.WaitGroup
	)
	next := make(chan *inbox.Event)
	for range min(writers, len(evs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				err := j.st.PutEvent(ctx, e)
				mu.Lock()
				switch {
				case err == nil:
					written++
				case !errors.Is(err, store.ErrExists):
					errs = append(errs, fmt.Errorf("event %s of %s: %w", e.ID, e.ConversationID, err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range evs {
		next <- e
	}
	close(next)
	wg.Wait()
	return written, errors.Join(errs...)
}

// autoClose closes the open conversations of lines with auto-close that had no activity for
// longer than the line's idle time.
func (j *job) autoClose(ctx context.Context, t time.Time, rep *report) error {
	lines, err := j.st.AutoCloseLines(ctx)
	if err != nil || len(lines) == 0 {
		return err
	}
	depts := map[string][]string{} // by organization
	var errs []error
	for _, l := range lines {
		ids, ok := depts[l.OrgID]
		if !ok {
			_, ds, _, err := j.st.OrgItems(ctx, l.OrgID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			depts[l.OrgID] = ids
		}
		cutoff := t.Add(-l.Idle)
		convs, err := j.st.IdleConversations(ctx, l.OrgID, l.LineID, ids, cutoff, idleBatch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range convs {
			closed, err := j.flow.CloseIdle(ctx, c, cutoff, t, l.Idle)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if closed {
				slog.InfoContext(ctx, "idle conversation closed", "conversation_id", c.ID, "idle_for", l.Idle.String())
				rep.AutoClosed++
				rep.autoClosed = append(rep.autoClosed, c.ID)
			}
		}
	}
	return errors.Join(errs...)
}
