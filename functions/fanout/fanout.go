package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mgmttypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/realtime"
	"github.com/buzon/buzon/shared/store"
)

// frameBytes is the largest frame posted: API Gateway bills a message per 32 KB and accepts
// frames of 32 KB, so events are packed into arrays of at most that.
const frameBytes = 32 << 10

// poster is the part of the @connections API the fan-out uses.
type poster interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, opts ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
}

type fanout struct {
	st   *store.Store
	post poster
	now  func() time.Time
}

// handle fans one batch of stream records out. A read that fails fails the batch (the event
// source mapping retries it, bisecting); a post that fails for another reason than a gone
// connection is logged and counted, not retried: the client refetches on reconnect.
//
// Reads are per batch, not per record: one Query per audience partition, one BatchGetItem of
// the users, one Query of each conversation's read markers, a line once.
func (f *fanout) handle(ctx context.Context, ev lambdaevents.DynamoDBEvent) error {
	start := f.now()
	b := &batch{f: f, convs: map[string]*inbox.Conversation{}, queried: map[string][]store.ConnectionRef{}, owners: map[string]ref{}}
	for _, r := range ev.Records {
		old, err := image(r.Change.OldImage)
		if err != nil {
			return fmt.Errorf("record %s: %w", r.EventID, err)
		}
		cur, err := image(r.Change.NewImage)
		if err != nil {
			return fmt.Errorf("record %s: %w", r.EventID, err)
		}
		if cur.Conversation != nil {
			b.convs[cur.Conversation.ID] = cur.Conversation // the batch's latest state
		}
		b.changes = append(b.changes, realtime.Decode(r.EventID, r.EventName, old, cur)...)
	}
	if len(b.changes) == 0 {
		return nil
	}
	out, order, gone, err := b.render(ctx)
	if err != nil {
		return err
	}
	posts, failed, goneByPost := f.send(ctx, out, order, b.owners)
	gone = append(gone, goneByPost...)
	for _, g := range dedupe(gone) {
		if err := f.st.DeleteConnection(ctx, g.org, g.UserID, g.ID); err != nil {
			slog.WarnContext(ctx, "delete gone connection", "connection_id", g.ID, "error", err)
		}
	}
	events := 0
	for _, evs := range out {
		events += len(evs)
	}
	slog.InfoContext(ctx, "fanout", "records", len(ev.Records), "changes", len(b.changes), "connections", len(order),
		"events", events, "posts", posts, "post_failures", failed, "gone", len(gone), "read_calls", b.reads, "users_read", b.users,
		"ms", f.now().Sub(start).Milliseconds())
	return nil
}

// batch is one invocation's state: its changes and what was read for them.
type batch struct {
	f       *fanout
	changes []realtime.Change
	convs   map[string]*inbox.Conversation
	queried map[string][]store.ConnectionRef // by audience
	owners  map[string]ref                   // connection id → whose
	reads   int                              // DynamoDB read calls
	users   int                              // user items read (BatchGetItem bills each)
}

// ref is a connection and whose it is.
type ref struct {
	store.ConnectionRef
	org string
}

// render decides, per connection, the events it gets, in the batch's order; gone are the
// connections of users who no longer exist.
func (b *batch) render(ctx context.Context) (out map[string][]realtime.Event, order []string, gone []ref, err error) {
	f := b.f
	var missing []string
	for _, c := range b.changes {
		if b.convs[c.ConversationID] == nil && !slices.Contains(missing, c.ConversationID) {
			missing = append(missing, c.ConversationID)
		}
	}
	if len(missing) > 0 {
		got, err := f.st.ConversationsByID(ctx, missing)
		if err != nil {
			return nil, nil, nil, err
		}
		b.reads++
		for id, c := range got {
			b.convs[id] = c
		}
	}

	// Who is connected where.
	type target struct {
		change realtime.Change
		conv   *inbox.Conversation
		conns  []store.ConnectionRef
	}
	var targets []target
	usersByOrg := map[string][]string{}
	for _, c := range b.changes {
		conv := b.convs[c.ConversationID]
		if conv == nil {
			continue // deleted since
		}
		depts, users := realtime.Recipients(c, conv)
		var refs []store.ConnectionRef
		if c.Type == realtime.Notification {
			r, err := b.connections(ctx, store.Audience{OrgID: conv.OrgID, Users: users})
			if err != nil {
				return nil, nil, nil, err
			}
			refs = onlyUsers(r, users)
		} else {
			for i, d := range depts {
				a := store.Audience{OrgID: conv.OrgID, Department: d}
				if i == 0 {
					a.Users = users
				}
				r, err := b.connections(ctx, a)
				if err != nil {
					return nil, nil, nil, err
				}
				refs = append(refs, r...)
			}
		}
		refs = dedupeRefs(refs) // the admins and the assignee are in every audience of the change
		targets = append(targets, target{change: c, conv: conv, conns: refs})
		for _, r := range refs {
			if !slices.Contains(usersByOrg[conv.OrgID], r.UserID) {
				usersByOrg[conv.OrgID] = append(usersByOrg[conv.OrgID], r.UserID)
			}
		}
	}

	// The users as stored now, the lines, and the read markers of each conversation: reads
	// independent of each other, made side by side (a round trip each in AWS).
	users := map[string]*inbox.User{} // by org + user
	lines := map[string]*inbox.Line{}
	seen := map[string]map[string]int{}
	var mu sync.Mutex
	var reads []func() error
	for org, ids := range usersByOrg {
		b.reads += (len(ids) + 99) / 100
		b.users += len(ids)
		reads = append(reads, func() error {
			got, err := f.st.Users(ctx, org, ids)
			mu.Lock()
			defer mu.Unlock()
			for id, u := range got {
				users[org+"\x00"+id] = u
			}
			return err
		})
	}
	for _, t := range targets {
		lk := t.conv.OrgID + "\x00" + t.conv.LineID
		if _, ok := lines[lk]; !ok {
			lines[lk] = nil
			b.reads++
			reads = append(reads, func() error {
				l, err := f.st.Line(ctx, t.conv.OrgID, t.conv.LineID)
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				mu.Lock()
				lines[lk] = l
				mu.Unlock()
				return err
			})
		}
		if _, ok := seen[t.conv.ID]; !ok && t.conv.InboundCount > 0 && len(t.conns) > 0 {
			seen[t.conv.ID] = nil
			b.reads++
			reads = append(reads, func() error {
				s, err := f.st.Readers(ctx, t.conv.ID)
				mu.Lock()
				seen[t.conv.ID] = s
				mu.Unlock()
				return err
			})
		}
	}
	if err := parallel(reads); err != nil {
		return nil, nil, nil, err
	}

	now := f.now()
	out = map[string][]realtime.Event{}
	for _, t := range targets {
		for _, r := range t.conns {
			u := users[t.conv.OrgID+"\x00"+r.UserID]
			if u == nil {
				gone = append(gone, ref{r, t.conv.OrgID}) // the user was removed
				continue
			}
			e, ok := realtime.For(t.change, t.conv, lines[t.conv.OrgID+"\x00"+t.conv.LineID], u, seen[t.conv.ID][u.ID], now)
			if !ok {
				continue
			}
			if _, ok := out[r.ID]; !ok {
				order = append(order, r.ID)
				b.owners[r.ID] = ref{r, t.conv.OrgID}
			}
			out[r.ID] = append(out[r.ID], e)
		}
	}
	for id, evs := range out {
		out[id] = supersede(evs)
	}
	return out, order, gone, nil
}

// parallel runs fns side by side, at most 8 at once, and returns the first error.
func parallel(fns []func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	sem := make(chan struct{}, 8)
	for i, fn := range fns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// connections reads an audience's connections once per batch.
func (b *batch) connections(ctx context.Context, a store.Audience) ([]store.ConnectionRef, error) {
	k := fmt.Sprint(a)
	if refs, ok := b.queried[k]; ok {
		return refs, nil
	}
	refs, err := b.f.st.Connections(ctx, a, b.f.now())
	if err != nil {
		return nil, err
	}
	b.reads += 1 + len(a.Users)
	if a.Department != "" {
		b.reads++
	}
	b.queried[k] = refs
	return refs, nil
}

// supersede drops a conversation.updated that a later event of the same conversation, which
// carries the summary too, makes redundant: a new message changes the conversation and
// inserts the message, two records, one event on the wire.
func supersede(evs []realtime.Event) []realtime.Event {
	out := evs[:0]
	for i, e := range evs {
		if e.Type == realtime.ConversationUpdated && slices.ContainsFunc(evs[i+1:], func(l realtime.Event) bool {
			return l.ConversationID == e.ConversationID && l.Conversation != nil
		}) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// send posts each connection's events, packed in frames, 16 posts at a time.
func (f *fanout) send(ctx context.Context, out map[string][]realtime.Event, order []string, owners map[string]ref) (posts, failed int, gone []ref) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, id := range order {
		for _, frame := range frames(out[id]) {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, err := f.post.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: frame})
				mu.Lock()
				defer mu.Unlock()
				posts++
				var g *mgmttypes.GoneException
				switch {
				case errors.As(err, &g):
					gone = append(gone, owners[id])
				case err != nil:
					failed++
					slog.WarnContext(ctx, "post to connection", "connection_id", id, "error", err)
				}
			}()
		}
	}
	wg.Wait()
	return posts, failed, gone
}

// frames packs events into JSON arrays of at most frameBytes each (an event larger than that
// goes alone: API Gateway takes up to 128 KB, billed per 32 KB).
func frames(evs []realtime.Event) [][]byte {
	var out [][]byte
	var cur []json.RawMessage
	size := 2
	flush := func() {
		if len(cur) > 0 {
			b, _ := json.Marshal(cur)
			out = append(out, b)
			cur, size = nil, 2
		}
	}
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			continue
		}
		if size+len(b)+1 > frameBytes {
			flush()
		}
		cur = append(cur, b)
		size += len(b) + 1
	}
	flush()
	return out
}

func onlyUsers(refs []store.ConnectionRef, users []string) []store.ConnectionRef {
	var out []store.ConnectionRef
	for _, r := range refs {
		if slices.Contains(users, r.UserID) {
			out = append(out, r)
		}
	}
	return out
}

func dedupeRefs(refs []store.ConnectionRef) []store.ConnectionRef {
	seen := map[string]bool{}
	var out []store.ConnectionRef
	for _, r := range refs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

func dedupe(refs []ref) []ref {
	seen := map[string]bool{}
	var out []ref
	for _, r := range refs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// image decodes a stream image of the table.
func image(m map[string]lambdaevents.DynamoDBAttributeValue) (realtime.Image, error) {
	if len(m) == 0 {
		return realtime.Image{}, nil
	}
	item := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		item[k] = attr(v)
	}
	img, err := store.DecodeImage(item)
	if err != nil {
		return realtime.Image{}, err
	}
	return realtime.Image{Conversation: img.Conversation, Message: img.Message, Event: img.Event}, nil
}

// attr converts a stream attribute value of the Lambda event into the SDK's.
func attr(v lambdaevents.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case lambdaevents.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case lambdaevents.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case lambdaevents.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case lambdaevents.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case lambdaevents.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case lambdaevents.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case lambdaevents.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	case lambdaevents.DataTypeList:
		l := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			l[i] = attr(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case lambdaevents.DataTypeMap:
		m := make(map[string]types.AttributeValue, len(v.Map()))
		for k, e := range v.Map() {
			m[k] = attr(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}
