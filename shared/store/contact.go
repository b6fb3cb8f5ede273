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
	Email   string            `dynamodbav:"email,omitempty"`
	Owner   string            `dynamodbav:"owner,omitempty"`
	Fields  map[string]string `dynamodbav:"fields,omitempty"`
	Lines   []string          `dynamodbav:"lines,omitempty,stringset"`
	Created int64             `dynamodbav:"cat"`
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

// searchTerms are the index terms of a contact: the words of its name and its number.
func searchTerms(name, waID string) []string {
	var terms []string
	for _, w := range inbox.NameTerms(name) {
		terms = append(terms, nameTerm(w))
	}
	if p := inbox.PhoneTerm(waID); p != "" {
		terms = append(terms, phoneTerm(p))
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
		Email: c.Email, Owner: c.OwnerID, Fields: c.Fields, Lines: c.LineIDs, Created: ms(c.CreatedAt)}
}

func (it *contactItem) contact() *inbox.Contact {
	return &inbox.Contact{OrgID: it.Org, WaID: it.WaID, Name: it.Name, Email: it.Email, OwnerID: it.Owner,
		Fields: it.Fields, LineIDs: it.Lines, CreatedAt: fromMS(it.Created)}
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
	for attempt := 0; attempt < 5; attempt++ {
		it, err := getItem[contactItem](ctx, s, pk, skContact)
		if errors.Is(err, ErrNotFound) {
			// The search items first: a stored contact is always findable.
			if err := s.writeSearch(ctx, c.OrgID, c.WaID, c.Name, searchTerms(c.Name, c.WaID), nil); err != nil {
				return err
			}
			it := toContactItem(c)
			it.Lines = nil
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
		renamed := rename && c.Name != "" && c.Name != it.Name
		newLine := lineID != "" && !slices.Contains(it.Lines, lineID)
		if !renamed && !newLine {
			return nil
		}
		var oldTerms, newTerms []string
		if renamed {
			// Every item of the new name is (re)written, since each holds the whole name.
			oldTerms, newTerms = searchTerms(it.Name, c.WaID), searchTerms(c.Name, c.WaID)
			if err := s.writeSearch(ctx, c.OrgID, c.WaID, c.Name, newTerms, nil); err != nil {
				return err
			}
		}
		err = s.updateContact(ctx, pk, it.Name, c.Name, renamed, lineID, newLine)
		if errors.Is(err, ErrExists) {
			continue // renamed meanwhile: read it again
		}
		if err != nil {
			return err
		}
		if renamed {
			// Removed after the rename: a search in between finds the contact by either name,
			// and checks the result against the stored name (inbox.ContactQuery.Matches).
			var gone []string
			for _, t := range oldTerms {
				if !slices.Contains(newTerms, t) {
					gone = append(gone, t)
				}
			}
			return s.writeSearch(ctx, c.OrgID, c.WaID, "", nil, gone)
		}
		return nil
	}
	return fmt.Errorf("contact %s: %w", c.WaID, ErrConflict)
}

// updateContact sets a new name (only if the name is still old) and adds a line. A failed
// condition (renamed meanwhile) is ErrExists.
func (s *Store) updateContact(ctx context.Context, pk, old, name string, renamed bool, lineID string, newLine bool) error {
	names, vals := map[string]string{}, map[string]types.AttributeValue{}
	cond := "attribute_exists(PK)"
	var expr []string
	if renamed {
		expr = append(expr, "SET #n = :n")
		names["#n"], vals[":n"] = "name", str(name)
		if old == "" {
			cond = "attribute_exists(PK) AND attribute_not_exists(#n)"
		} else {
			cond, vals[":old"] = "#n = :old", str(old)
		}
	}
	if newLine {
		expr = append(expr, "ADD #lines :l")
		names["#lines"], vals[":l"] = "lines", &types.AttributeValueMemberSS{Value: []string{lineID}}
	}
	return s.update(ctx, pk, skContact, strings.Join(expr, " "), cond, names, vals)
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

// SearchContacts finds up to limit contacts of org that q matches, in index order (the looked
// up word, then the number). It reads the searchShards partitions of the organization's
// search index in parallel, by the query's lookup term (a key range: no Scan), then the
// contacts themselves in one BatchGetItem, and keeps those whose stored name or number
// still matches.
func (s *Store) SearchContacts(ctx context.Context, org string, q inbox.ContactQuery, limit int) ([]*inbox.Contact, error) {
	word, phone := q.LookupTerm()
	term := nameTerm(word)
	if phone {
		term = phoneTerm(word)
	}
	if word == "" || limit < 1 {
		return nil, nil
	}
	var filter []string
	vals := map[string]types.AttributeValue{}
	if !phone {
		for i, w := range q.Words {
			if w == word {
				continue
			}
			k := fmt.Sprintf(":w%d", i)
			filter = append(filter, "contains(#words, "+k+")")
			vals[k] = str(" " + w)
		}
	}
	results, err := parallel(searchShards, searchShards, func(sh int) ([]searchItem, error) {
		in := s.partition(IndexLookup, searchShardPK(org, sh), term)
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
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	found := concat(results)
	sort.Slice(found, func(i, j int) bool { return found[i].GSI3SK < found[j].GSI3SK })
	var order []string
	for _, it := range found {
		if !slices.Contains(order, it.WaID) && len(order) < limit {
			order = append(order, it.WaID)
		}
	}
	items, err := getItems[contactItem](ctx, s, order, func(wa string) (string, string) { return contactPK(org, wa), skContact }, false)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	byWa := map[string]*inbox.Contact{}
	for _, it := range items {
		if c := it.contact(); c.OrgID == org && q.Matches(c) {
			byWa[c.WaID] = c
		}
	}
	var out []*inbox.Contact
	for _, wa := range order {
		if c := byWa[wa]; c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}
