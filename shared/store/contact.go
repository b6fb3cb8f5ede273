package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

type contactItem struct {
	PK      string            `dynamodbav:"PK"`
	SK      string            `dynamodbav:"SK"`
	Type    string            `dynamodbav:"type"`
	Org     string            `dynamodbav:"org"`
	WaID    string            `dynamodbav:"wa"`
	Name    string            `dynamodbav:"name,omitempty"`
	PName   string            `dynamodbav:"pname,omitempty"`
	Named   bool              `dynamodbav:"named,omitempty"`
	Email   string            `dynamodbav:"email,omitempty"`
	Owner   string            `dynamodbav:"owner,omitempty"`
	Fields  map[string]string `dynamodbav:"fields,omitempty"`
	Lines   []string          `dynamodbav:"lines,omitempty,stringset"`
	Created int64             `dynamodbav:"cat"`
	Version int               `dynamodbav:"v,omitempty"`
}

// searchItem is one word of a contact's name, or its number, in the contact search index
// (GSI3). It lives in the contact's partition and is written when the contact is created or
// renamed, never per message. Words holds the whole folded name, each word " "-led, so a
// query's other words are checked in the index read (contains(words, " per")).
type searchItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI3PK string `dynamodbav:"GSI3PK"`
	GSI3SK string `dynamodbav:"GSI3SK"`
	Type   string `dynamodbav:"type"`
	WaID   string `dynamodbav:"wa"`
	Words  string `dynamodbav:"words,omitempty"`
}

// searchTerms are the index terms of a contact: the words of its name, its number, its email,
// its custom fields' values and its owner.
func searchTerms(c *inbox.Contact) []string {
	var terms []string
	for _, w := range inbox.NameTerms(c.Name) {
		terms = append(terms, nameTerm(w))
	}
	if p := inbox.PhoneTerm(c.WaID); p != "" {
		terms = append(terms, phoneTerm(p))
	}
	if c.Email != "" {
		terms = append(terms, emailTerm(inbox.EmailTerm(c.Email)))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		if t := inbox.FieldTerm(k, c.Fields[k]); t != "" {
			terms = append(terms, fieldTerm(t))
		}
	}
	if c.OwnerID != "" {
		terms = append(terms, ownerTerm(c.OwnerID))
	}
	return terms
}

func indexedWords(name string) string {
	if w := inbox.SearchWords(name); len(w) > 0 {
		return " " + strings.Join(w, " ")
	}
	return ""
}

func toContactItem(c *inbox.Contact) contactItem {
	return contactItem{PK: contactPK(c.OrgID, c.WaID), SK: skContact, Type: "contact", Org: c.OrgID, WaID: c.WaID, Name: c.Name,
		PName: c.ProfileName, Named: c.Named, Email: c.Email, Owner: c.OwnerID, Fields: c.Fields, Lines: c.LineIDs,
		Created: ms(c.CreatedAt), Version: c.Version}
}

func (it *contactItem) contact() *inbox.Contact {
	c := &inbox.Contact{OrgID: it.Org, WaID: it.WaID, Name: it.Name, ProfileName: it.PName, Named: it.Named, Email: it.Email,
		OwnerID: it.Owner, Fields: it.Fields, LineIDs: it.Lines, CreatedAt: fromMS(it.Created), Version: it.Version}
	if !it.Named && it.PName == "" {
		c.ProfileName = it.Name // stored before profile names were kept apart
	}
	return c
}

// CreateContact stores a contact seen for the first time, with its search items; an existing
// contact is left as it is (agents may have edited it).
func (s *Store) CreateContact(ctx context.Context, c *inbox.Contact) error {
	return s.saveContact(ctx, c, "", false)
}

// SaveContact records what a customer message says of its contact: the first time, the
// contact and its search items; lineID when the contact had no conversation on that line
// yet; a new (profile) name, whose words replace the old ones in the search index. It reads
// the contact once and writes only what changed, so the ingest calls it when it creates a
// conversation or sees the profile name change, never per message.
func (s *Store) SaveContact(ctx context.Context, c *inbox.Contact, lineID string) error {
	return s.saveContact(ctx, c, lineID, true)
}

func (s *Store) saveContact(ctx context.Context, c *inbox.Contact, lineID string, rename bool) error {
	pk := contactPK(c.OrgID, c.WaID)
	if c.ProfileName == "" && !c.Named {
		c.ProfileName = c.Name
	}
	for attempt := 0; attempt < 5; attempt++ {
		it, err := getItem[contactItem](ctx, s, pk, skContact)
		if errors.Is(err, ErrNotFound) {
			// The search items first: a stored contact is always findable.
			if err := s.writeSearch(ctx, c.OrgID, c.WaID, c.Name, searchTerms(c), nil); err != nil {
				return err
			}
			it := toContactItem(c)
			it.Lines, it.Version = nil, 1
			if lineID != "" {
				it.Lines = []string{lineID}
			}
			err = s.put(ctx, it, "attribute_not_exists(PK)", nil)
			if errors.Is(err, ErrExists) {
				continue // created meanwhile (the same customer on another line): update that one
			}
			return err
		}
		if err != nil {
			return err
		}
		old := it.contact()
		// A new profile name is kept; it becomes the contact's name unless an agent named it.
		profile := rename && c.ProfileName != "" && c.ProfileName != old.ProfileName
		newLine := lineID != "" && !slices.Contains(it.Lines, lineID)
		if !profile && !newLine {
			return nil
		}
		next := *old
		if profile {
			next.ProfileName = c.ProfileName
			if !old.Named {
				next.Name = c.ProfileName
			}
		}
		err = s.updateContact(ctx, old, &next, lineID, newLine)
		if errors.Is(err, ErrExists) {
			continue // changed meanwhile: read it again
		}
		return err
	}
	return fmt.Errorf("contact %s: %w", c.WaID, ErrConflict)
}

// updateContact writes next over old (the same contact as read), if it did not change
// meanwhile (ErrExists), and adds a line; the search items follow: those of next first, so
// the contact is findable by either version in between (every result is checked against the
// stored contact: inbox.ContactFilter.Matches), then those next no longer has are removed.
func (s *Store) updateContact(ctx context.Context, old, next *inbox.Contact, lineID string, newLine bool) error {
	oldTerms, newTerms := searchTerms(old), searchTerms(next)
	write := newTerms // every item holds the whole name: a rename rewrites them all
	if next.Name == old.Name {
		write = nil
		for _, t := range newTerms {
			if !slices.Contains(oldTerms, t) {
				write = append(write, t)
			}
		}
	}
	if err := s.writeSearch(ctx, next.OrgID, next.WaID, next.Name, write, nil); err != nil {
		return err
	}
	it := toContactItem(next)
	it.Lines, it.Version = old.LineIDs, old.Version+1
	if newLine {
		it.Lines = append(slices.Clone(it.Lines), lineID)
	}
	cond, vals := "attribute_exists(PK) AND attribute_not_exists(#v)", map[string]types.AttributeValue(nil)
	if old.Version > 0 {
		cond, vals = "#v = :v", map[string]types.AttributeValue{":v": num(old.Version)}
	}
	if err := s.putOver(ctx, it, indexKeys{}, cond, map[string]string{"#v": "v"}, vals); err != nil {
		return err
	}
	var gone []string
	for _, t := range oldTerms {
		if !slices.Contains(newTerms, t) {
			gone = append(gone, t)
		}
	}
	return s.writeSearch(ctx, next.OrgID, next.WaID, "", nil, gone)
}

// EditContact changes a contact of org with fn (which refuses with an error) in a write
// conditional on the version read, retried when the contact changed meanwhile. The search
// items follow the new name, email, fields and owner.
func (s *Store) EditContact(ctx context.Context, org, waID string, fn func(*inbox.Contact) error) (*inbox.Contact, error) {
	for attempt := 0; attempt < 5; attempt++ {
		old, err := s.Contact(ctx, org, waID)
		if err != nil {
			return nil, err
		}
		next := *old
		next.Fields = maps.Clone(old.Fields)
		if err := fn(&next); err != nil {
			return nil, err
		}
		err = s.updateContact(ctx, old, &next, "", false)
		if errors.Is(err, ErrExists) {
			continue
		}
		if err != nil {
			return nil, err
		}
		next.Version = old.Version + 1
		return &next, nil
	}
	return nil, fmt.Errorf("contact %s: %w", waID, ErrConflict)
}

// writeSearch puts the search items of terms (for a contact named name) and deletes those of
// gone, in one batch: items are plain facts about a contact, so writing one twice is harmless.
func (s *Store) writeSearch(ctx context.Context, org, waID, name string, terms, gone []string) error {
	pk := contactPK(org, waID)
	var reqs []types.WriteRequest
	var counted []countedWrite
	for _, t := range terms {
		item, err := marshal(searchItem{PK: pk, SK: searchSK(t), GSI3PK: searchPK(org, t, waID), GSI3SK: searchIndexSK(t, waID),
			Type: "csearch", WaID: waID, Words: indexedWords(name)})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		counted = append(counted, countedWrite{now: keysOf(item)})
	}
	for _, t := range gone {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(pk, searchSK(t))}})
		counted = append(counted, countedWrite{old: indexKeys{GSI3: searchPK(org, t, waID)}, now: indexKeys{PK: pk}})
	}
	if len(reqs) == 0 {
		return nil
	}
	if err := s.batchWrite(ctx, reqs, counted); err != nil {
		return fmt.Errorf("contact search items of %s: %w", waID, err)
	}
	return nil
}

// Contact reads a contact of org.
func (s *Store) Contact(ctx context.Context, org, waID string) (*inbox.Contact, error) {
	it, err := getItem[contactItem](ctx, s, contactPK(org, waID), skContact)
	if err != nil {
		return nil, err
	}
	return it.contact(), nil
}

// searchPages bounds the pages one shard's Query reads when a query's other words filter the
// lookup word's items.
const searchPages = 5

// SearchContacts finds up to limit contacts of org that q matches (FindContacts' first page).
func (s *Store) SearchContacts(ctx context.Context, org string, q inbox.ContactQuery, limit int) ([]*inbox.Contact, error) {
	found, _, err := s.FindContacts(ctx, org, inbox.ContactFilter{Query: &q}, limit, "")
	return found, err
}

// lookup is the one index term a filter is read by: the query's, else the email's, the
// field's, the owner's. words are the query's other words, checked in the index read.
func lookup(f inbox.ContactFilter) (term string, words []string) {
	switch {
	case f.Query != nil:
		word, phone := f.Query.LookupTerm()
		if phone {
			return phoneTerm(word), nil
		}
		if word == "" {
			return "", nil
		}
		for _, w := range f.Query.Words {
			if w != word {
				words = append(words, w)
			}
		}
		return nameTerm(word), words
	case f.Email != "":
		return emailTerm(inbox.EmailTerm(f.Email)), nil
	case f.Field != "":
		if t := inbox.FieldTerm(f.Field, f.FieldValue); t != "" {
			return fieldTerm(t), nil
		}
		return "", nil
	case f.Owner != "":
		return ownerTerm(f.Owner), nil
	}
	return "", nil
}

// FindContacts finds up to limit contacts of org that f matches, in index order (the looked
// up term, then the number), after cursor (the previous page's next). It reads the
// searchShards partitions of the organization's search index in parallel, by f's lookup term
// (a key range: no Scan), then the contacts themselves in one BatchGetItem, and keeps those
// that still match. A name query matches a prefix of a word, so a contact with two words
// starting alike may show on two pages.
func (s *Store) FindContacts(ctx context.Context, org string, f inbox.ContactFilter, limit int, cursor string) ([]*inbox.Contact, string, error) {
	term, words := lookup(f)
	if term == "" || limit < 1 {
		return nil, "", nil
	}
	if cursor != "" && !strings.HasPrefix(cursor, term) {
		return nil, "", ErrBadCursor
	}
	var filter []string
	vals := map[string]types.AttributeValue{}
	for i, w := range words {
		k := fmt.Sprintf(":w%d", i)
		filter = append(filter, "contains(#words, "+k+")")
		vals[k] = str(" " + w)
	}
	results, err := parallel(searchShards, searchShards, func(sh int) ([]searchItem, error) {
		in := s.partition(IndexLookup, searchShardPK(org, sh), term)
		if cursor != "" {
			// After the cursor, within the term's prefix.
			in = s.partition(IndexLookup, searchShardPK(org, sh), "")
			in.KeyConditionExpression = aws.String(IndexLookup + "PK = :pk AND " + IndexLookup + "SK BETWEEN :from AND :to")
			in.ExpressionAttributeValues[":from"] = str(cursor + "\x00")
			in.ExpressionAttributeValues[":to"] = str(term + "\U0010FFFF")
		}
		in.Limit = aws.Int32(int32(limit))
		maps.Copy(in.ExpressionAttributeValues, vals)
		if len(filter) > 0 {
			in.FilterExpression = aws.String(strings.Join(filter, " AND "))
			in.ExpressionAttributeNames = map[string]string{"#words": "words"}
			in.Limit = aws.Int32(100)
		}
		pages := 0
		items, _, err := query[searchItem](ctx, s, in, func(n int) bool {
			pages++
			return n >= limit || pages == searchPages
		})
		return items, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("find contacts: %w", err)
	}
	found := concat(results)
	sort.Slice(found, func(i, j int) bool { return found[i].GSI3SK < found[j].GSI3SK })
	var order []string
	next := ""
	for _, it := range found {
		if len(order) == limit {
			break
		}
		if !slices.Contains(order, it.WaID) {
			order = append(order, it.WaID)
		}
		next = it.GSI3SK
	}
	if len(order) < limit {
		next = "" // every shard was read to the end of the term (or to searchPages)
	}
	items, err := getItems[contactItem](ctx, s, order, func(wa string) (string, string) { return contactPK(org, wa), skContact }, false)
	if err != nil {
		return nil, "", fmt.Errorf("find contacts: %w", err)
	}
	byWa := map[string]*inbox.Contact{}
	for _, it := range items {
		if c := it.contact(); c.OrgID == org && f.Matches(c) {
			byWa[c.WaID] = c
		}
	}
	var out []*inbox.Contact
	for _, wa := range order {
		if c := byWa[wa]; c != nil {
			out = append(out, c)
		}
	}
	return out, next, nil
}
