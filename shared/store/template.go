package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// templateItem is one message template of one WABA, in its organization's template partition.
// sat orders status changes: a sync and a status webhook each write the status only over an
// older one, so neither a slow sync nor a webhook retried days later moves it back.
type templateItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Type     string `dynamodbav:"type"`
	Org      string `dynamodbav:"org"`
	WABA     string `dynamodbav:"waba"`
	ID       string `dynamodbav:"tid,omitempty"`
	Name     string `dynamodbav:"name"`
	Language string `dynamodbav:"lang"`
	Category string `dynamodbav:"cat,omitempty"`
	Status   string `dynamodbav:"status"`
	Reason   string `dynamodbav:"reason,omitempty"`
	Format   string `dynamodbav:"fmt,omitempty"`
	Comp     string `dynamodbav:"comp,omitempty"` // components, the provider's JSON
	StatusAt int64  `dynamodbav:"sat"`
	Synced   int64  `dynamodbav:"syn,omitempty"`
}

func toTemplateItem(t *inbox.Template) (templateItem, error) {
	comp, err := compact(t.Components)
	if err != nil {
		return templateItem{}, fmt.Errorf("template %s: components: %w", t.Name, err)
	}
	return templateItem{PK: templatePK(t.OrgID), SK: templateSK(t.Account, t.Name, t.Language), Type: "template",
		Org: t.OrgID, WABA: t.Account, ID: t.ID, Name: t.Name, Language: t.Language, Category: t.Category,
		Status: t.Status, Reason: t.Reason, Format: t.ParameterFormat, Comp: comp, StatusAt: ms(t.StatusAt), Synced: ms(t.SyncedAt)}, nil
}

func (it *templateItem) template() *inbox.Template {
	t := &inbox.Template{OrgID: it.Org, Account: it.WABA, ID: it.ID, Name: it.Name, Language: it.Language,
		Category: it.Category, Status: it.Status, Reason: it.Reason, ParameterFormat: it.Format,
		StatusAt: fromMS(it.StatusAt), SyncedAt: fromMS(it.Synced)}
	if it.Comp != "" {
		t.Components = json.RawMessage(it.Comp)
	}
	return t
}

// SaveTemplate writes a template as a sync read it. Its status is written only over an older
// one (t.StatusAt is when the sync read it); when a status webhook got there first, the
// template's content is written and its newer status kept.
func (s *Store) SaveTemplate(ctx context.Context, t *inbox.Template) error {
	it, err := toTemplateItem(t)
	if err != nil {
		return err
	}
	comp := it.Comp
	err = s.put(ctx, it, "attribute_not_exists(PK) OR sat < :t", map[string]types.AttributeValue{":t": num(it.StatusAt)})
	if !errors.Is(err, ErrExists) {
		return err
	}
	fields := map[string]types.AttributeValue{
		"type": str(it.Type), "org": str(it.Org), "waba": str(it.WABA), "name": str(it.Name), "lang": str(it.Language),
		"comp": str(comp), "syn": num(it.Synced),
	}
	for name, v := range map[string]string{"tid": it.ID, "cat": it.Category, "fmt": it.Format} {
		if v != "" {
			fields[name] = str(v)
		}
	}
	expr, names, vals := setExpr(fields)
	return s.update(ctx, it.PK, it.SK, expr, "", names, vals)
}

// TemplateStatusUpdate is a template's new status, as a status webhook tells it.
type TemplateStatusUpdate struct {
	Org, Account, Name, Language string
	ID                           string // the provider's template id, when known
	Status, Reason               string
	At                           time.Time // the event's time
}

// ApplyTemplateStatus sets a template's status unless a newer one is stored (a status at the
// same second as the stored one wins: webhooks carry whole seconds). A template not synced yet
// is created with what the update says, so it shows in lists until the next sync reads its
// components. It reports whether the status was written.
func (s *Store) ApplyTemplateStatus(ctx context.Context, u TemplateStatusUpdate) (bool, error) {
	fields := map[string]types.AttributeValue{
		"type": str("template"), "org": str(u.Org), "waba": str(u.Account), "name": str(u.Name), "lang": str(u.Language),
		"status": str(u.Status), "sat": num(ms(u.At)),
	}
	if u.ID != "" {
		fields["tid"] = str(u.ID)
	}
	var remove []string
	if u.Reason != "" {
		fields["reason"] = str(u.Reason)
	} else {
		remove = append(remove, "reason")
	}
	set, names, vals := setExpr(fields, remove...)
	vals[":t"] = num(ms(u.At))
	err := s.update(ctx, templatePK(u.Org), templateSK(u.Account, u.Name, u.Language), set,
		"attribute_not_exists(sat) OR sat <= :t", names, vals)
	if errors.Is(err, ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// MarkTemplateDeleted records that a sync at at no longer found the template at the provider,
// unless a newer status is stored.
func (s *Store) MarkTemplateDeleted(ctx context.Context, t *inbox.Template, at time.Time) (bool, error) {
	set, names, vals := setExpr(map[string]types.AttributeValue{"status": str(inbox.TemplateDeleted), "sat": num(ms(at))}, "reason")
	vals[":t"] = num(ms(at))
	err := s.update(ctx, templatePK(t.OrgID), templateSK(t.Account, t.Name, t.Language), set,
		"attribute_exists(PK) AND sat < :t", names, vals)
	if errors.Is(err, ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// Template reads one template of an organization's WABA.
func (s *Store) Template(ctx context.Context, org, waba, name, language string) (*inbox.Template, error) {
	it, err := getItem[templateItem](ctx, s, templatePK(org), templateSK(waba, name, language))
	if err != nil {
		return nil, err
	}
	return it.template(), nil
}

// TemplateQuery selects an organization's templates: of one WABA or all, of one status or
// any, a page of at most Limit after Cursor (the last template's key), by WABA, name and
// language.
type TemplateQuery struct {
	Org     string
	Account string // "": every WABA of the organization
	Status  string // "": any
	Limit   int    // 0: all
	Cursor  string
}

// Templates lists templates; the cursor of the next page is "" after the last one.
func (s *Store) Templates(ctx context.Context, q TemplateQuery) ([]*inbox.Template, string, error) {
	prefix := skTemplatePrefix
	if q.Account != "" {
		prefix = templateWABAPrefix(q.Account)
	}
	in := s.partition("", templatePK(q.Org), prefix)
	if q.Status != "" {
		in.FilterExpression = aws.String("#s = :s")
		in.ExpressionAttributeNames = map[string]string{"#s": "status"}
		in.ExpressionAttributeValues[":s"] = str(q.Status)
	}
	if q.Cursor != "" {
		if !strings.HasPrefix(q.Cursor, prefix) {
			return nil, "", fmt.Errorf("%w: template cursor", ErrBadCursor)
		}
		in.ExclusiveStartKey = key(templatePK(q.Org), q.Cursor)
	}
	var enough func(int) bool
	if q.Limit > 0 {
		in.Limit = aws.Int32(int32(q.Limit))
		enough = func(n int) bool {
			in.Limit = aws.Int32(int32(q.Limit - n)) // the next page reads what is missing
			return n >= q.Limit
		}
	}
	items, last, err := query[templateItem](ctx, s, in, enough)
	if err != nil {
		return nil, "", err
	}
	out := make([]*inbox.Template, len(items))
	for i := range items {
		out[i] = items[i].template()
	}
	if last == nil || len(out) == 0 {
		return out, "", nil
	}
	l := out[len(out)-1]
	return out, templateSK(l.Account, l.Name, l.Language), nil
}

// ErrBadCursor reports a cursor this store did not hand out.
var ErrBadCursor = errors.New("store: invalid cursor")

// wabaItem is one (WABA, organization) pair of the registry.
type wabaItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	WABA string `dynamodbav:"waba"`
	Org  string `dynamodbav:"org"`
}

// RegisterWABA records that org has lines on the WhatsApp Business Account waba, for the
// template sync and the template status webhooks. Writing it again changes nothing.
func (s *Store) RegisterWABA(ctx context.Context, org, waba string) error {
	return s.put(ctx, wabaItem{PK: wabaRegistryPK, SK: wabaRegistrySK(waba, org), Type: "waba", WABA: waba, Org: org}, "", nil)
}

// WABA is one (account, organization) pair of the registry.
type WABA struct {
	ID, Org string
}

// WABAs lists every registered pair, by account; of one account when waba is set.
func (s *Store) WABAs(ctx context.Context, waba string) ([]WABA, error) {
	prefix := ""
	if waba != "" {
		prefix = wabaRegistrySK(waba, "")
	}
	items, err := queryAll[wabaItem](ctx, s, s.partition("", wabaRegistryPK, prefix))
	if err != nil {
		return nil, err
	}
	out := make([]WABA, len(items))
	for i, it := range items {
		out[i] = WABA{ID: it.WABA, Org: it.Org}
	}
	return out, nil
}

// templateSyncItem is an organization's last "sync now": the next may start at nxt.
type templateSyncItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Type  string `dynamodbav:"type"`
	Until int64  `dynamodbav:"nxt"`
	TTL   int64  `dynamodbav:"ttl"`
}

// ClaimTemplateSync takes the organization's "sync now" for the next every: false, with the
// time it frees up, when another sync took it less than every ago. It keeps admins from
// spending the provider's rate limit, which every organization on the app shares.
func (s *Store) ClaimTemplateSync(ctx context.Context, org string, now time.Time, every time.Duration) (bool, time.Time, error) {
	until := now.Add(every)
	err := s.put(ctx, templateSyncItem{PK: templatePK(org), SK: skTemplateSync, Type: "template_sync", Until: ms(until), TTL: until.Add(time.Hour).Unix()},
		"attribute_not_exists(PK) OR nxt <= :now", map[string]types.AttributeValue{":now": num(ms(now))})
	if !errors.Is(err, ErrExists) {
		return err == nil, time.Time{}, err
	}
	it, err := getItem[templateSyncItem](ctx, s, templatePK(org), skTemplateSync)
	if err != nil {
		return false, time.Time{}, err
	}
	return false, fromMS(it.Until), nil
}

// setExpr builds "SET #a0 = :a0, … REMOVE #r0, …" over fields, every attribute name aliased:
// several (name, status, type) are reserved words.
func setExpr(fields map[string]types.AttributeValue, remove ...string) (string, map[string]string, map[string]types.AttributeValue) {
	attrs := make([]string, 0, len(fields))
	for a := range fields {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	set := make([]string, len(attrs))
	for i, a := range attrs {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		names[n], vals[v] = a, fields[a]
		set[i] = n + " = " + v
	}
	expr := "SET " + strings.Join(set, ", ")
	for i, a := range remove {
		n := fmt.Sprintf("#r%d", i)
		names[n] = a
		if i == 0 {
			expr += " REMOVE " + n
		} else {
			expr += ", " + n
		}
	}
	return expr, names, vals
}

// compact is the components JSON without insignificant space, so that an unchanged template
// compares equal to its stored copy.
func compact(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

// SameTemplate reports whether a stored template already holds what a sync read: its write
// can be skipped.
func SameTemplate(stored, fresh *inbox.Template) bool {
	a, errA := compact(stored.Components)
	b, errB := compact(fresh.Components)
	return errA == nil && errB == nil && a == b && stored.ID == fresh.ID && stored.Category == fresh.Category &&
		stored.Status == fresh.Status && stored.Reason == fresh.Reason && stored.ParameterFormat == fresh.ParameterFormat
}
