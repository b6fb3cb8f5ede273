package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/hours"
	"github.com/buzon/buzon/shared/inbox"
)

// A line's automation: business hours and auto-replies live on the line item (the inbound
// consumer has the line at hand for every message, cached), auto-close in a registry the window
// job reads without a Scan, and each auto-reply decision in a mark in the conversation's
// partition.

// autoReplyJSON is an auto-reply as stored on the line item.
type autoReplyJSON struct {
	Trigger string `json:"t"`
	Text    string `json:"x"`
}

func encodeLineSettings(l *inbox.Line) (hrs, ar string, err error) {
	if l.Hours != nil {
		b, err := json.Marshal(l.Hours)
		if err != nil {
			return "", "", fmt.Errorf("encode line hours: %w", err)
		}
		hrs = string(b)
	}
	if len(l.AutoReplies) > 0 {
		rs := make([]autoReplyJSON, len(l.AutoReplies))
		for i, r := range l.AutoReplies {
			rs[i] = autoReplyJSON{Trigger: string(r.Trigger), Text: r.Text}
		}
		b, err := json.Marshal(rs)
		if err != nil {
			return "", "", fmt.Errorf("encode line auto-replies: %w", err)
		}
		ar = string(b)
	}
	return hrs, ar, nil
}

// decodeLineSettings reads what encodeLineSettings wrote. The values were validated before
// they were stored; one that does not decode is left out (the line behaves as if unset).
func decodeLineSettings(hrs, ar string) (*hours.Spec, []inbox.AutoReply) {
	var spec *hours.Spec
	if hrs != "" {
		var s hours.Spec
		if json.Unmarshal([]byte(hrs), &s) == nil {
			spec = &s
		}
	}
	var out []inbox.AutoReply
	if ar != "" {
		var rs []autoReplyJSON
		if json.Unmarshal([]byte(ar), &rs) == nil {
			for _, r := range rs {
				out = append(out, inbox.AutoReply{Trigger: inbox.Trigger(r.Trigger), Text: r.Text})
			}
		}
	}
	return spec, out
}

// SetLineHours sets (nil: removes) a line's business hours, leaving the rest of the line as
// it is. ErrNotFound if org has no such line.
func (s *Store) SetLineHours(ctx context.Context, org, line string, spec *hours.Spec) error {
	l := &inbox.Line{Hours: spec}
	hrs, _, err := encodeLineSettings(l)
	if err != nil {
		return err
	}
	return s.setLineAttr(ctx, org, line, "hrs", hrs)
}

// SetLineAutoReplies sets (empty: removes) a line's auto-replies, leaving the rest of the line
// as it is. ErrNotFound if org has no such line.
func (s *Store) SetLineAutoReplies(ctx context.Context, org, line string, rs []inbox.AutoReply) error {
	_, ar, err := encodeLineSettings(&inbox.Line{AutoReplies: rs})
	if err != nil {
		return err
	}
	return s.setLineAttr(ctx, org, line, "ar", ar)
}

// setLineAttr sets one string attribute of a line item, or removes it when v is empty.
func (s *Store) setLineAttr(ctx context.Context, org, line, name, v string) error {
	expr, vals := "SET #a = :v", map[string]types.AttributeValue{":v": str(v)}
	if v == "" {
		expr, vals = "REMOVE #a", nil
	}
	err := s.update(ctx, orgPK(org), lineSK(line), expr, "attribute_exists(PK)", map[string]string{"#a": name}, vals)
	if errors.Is(err, ErrExists) {
		return notFound("line")
	}
	if err != nil {
		return fmt.Errorf("set line %s %s: %w", line, name, err)
	}
	return nil
}

// AutoClose is a line whose open conversations close by themselves after Idle without
// activity.
type AutoClose struct {
	OrgID, LineID string
	Idle          time.Duration
}

type autoCloseItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Org  string `dynamodbav:"org"`
	Line string `dynamodbav:"line"`
	Idle int64  `dynamodbav:"idle"` // seconds
}

func (it *autoCloseItem) autoClose() AutoClose {
	return AutoClose{OrgID: it.Org, LineID: it.Line, Idle: time.Duration(it.Idle) * time.Second}
}

// SetAutoClose sets a line's idle time before auto-close; zero turns auto-close off.
func (s *Store) SetAutoClose(ctx context.Context, a AutoClose) error {
	if a.Idle <= 0 {
		return s.delete(ctx, autoClosePK, autoCloseSK(a.OrgID, a.LineID), "")
	}
	return s.put(ctx, autoCloseItem{PK: autoClosePK, SK: autoCloseSK(a.OrgID, a.LineID), Type: "autoclose",
		Org: a.OrgID, Line: a.LineID, Idle: int64(a.Idle / time.Second)}, "", nil)
}

// LineAutoClose reads a line's idle time before auto-close: zero when it is off.
func (s *Store) LineAutoClose(ctx context.Context, org, line string) (time.Duration, error) {
	it, err := getItem[autoCloseItem](ctx, s, autoClosePK, autoCloseSK(org, line))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return it.autoClose().Idle, nil
}

// AutoCloseLines lists every line with auto-close on, in every organization.
func (s *Store) AutoCloseLines(ctx context.Context) ([]AutoClose, error) {
	items, err := queryAll[autoCloseItem](ctx, s, s.partition("", autoClosePK, ""))
	if err != nil {
		return nil, err
	}
	out := make([]AutoClose, len(items))
	for i := range items {
		out[i] = items[i].autoClose()
	}
	return out, nil
}

// AutoReplyMark records what became of one trigger's auto-reply in one window of a
// conversation: the customer message that triggered it, and the reply (or why none was sent).
type AutoReplyMark struct {
	Trigger   inbox.Trigger
	By        string    // provider id of the customer message that triggered it
	MessageID string    // the reply's id; empty when it was suppressed
	At        time.Time // the reply's place on the thread
	Outcome   string    // "sent", or why not ("agent_active")
}

type autoReplyItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Type    string `dynamodbav:"type"`
	Trigger string `dynamodbav:"trg"`
	By      string `dynamodbav:"by"`
	Msg     string `dynamodbav:"msg,omitempty"`
	At      int64  `dynamodbav:"at,omitempty"`
	Outcome string `dynamodbav:"out"`
	TTL     int64  `dynamodbav:"ttl"`
}

// autoReplyMarkTTL keeps a mark while its window may still be open: a window lasts as long as
// the customer writes within a day; one open for longer than this may be answered again.
const autoReplyMarkTTL = 30 * 24 * time.Hour

// AutoReplyMarks reads the marks of a conversation's window that opened at opened.
func (s *Store) AutoReplyMarks(ctx context.Context, convID string, opened time.Time) ([]AutoReplyMark, error) {
	in := s.partition("", convPK(convID), autoReplyPrefix(opened))
	in.ConsistentRead = aws.Bool(true)
	items, err := queryAll[autoReplyItem](ctx, s, in)
	if err != nil {
		return nil, err
	}
	marks := make([]AutoReplyMark, len(items))
	for i, it := range items {
		marks[i] = AutoReplyMark{Trigger: inbox.Trigger(it.Trigger), By: it.By, MessageID: it.Msg, At: fromMS(it.At), Outcome: it.Outcome}
	}
	return marks, nil
}

// PutAutoReplyMark records a trigger's decision for the window that opened at opened, once:
// ErrExists if the window already has one for that trigger.
func (s *Store) PutAutoReplyMark(ctx context.Context, convID string, opened time.Time, m AutoReplyMark, now time.Time) error {
	return s.put(ctx, autoReplyItem{
		PK: convPK(convID), SK: autoReplySK(opened, string(m.Trigger)), Type: "autoreply",
		Trigger: string(m.Trigger), By: m.By, Msg: m.MessageID, At: ms(m.At), Outcome: m.Outcome,
		TTL: now.Add(autoReplyMarkTTL).Unix(),
	}, "attribute_not_exists(PK)", nil)
}
