package store

import (
	"context"
	"fmt"

	"github.com/buzon/buzon/shared/inbox"
)

// RuleScope says whose assignment rules an item holds.
type RuleScope string

// Rule scopes: a line's own list wins over its department's.
const (
	ScopeLine       RuleScope = "line"
	ScopeDepartment RuleScope = "dept"
)

type rulesItem struct {
	PK    string     `dynamodbav:"PK"`
	SK    string     `dynamodbav:"SK"`
	Type  string     `dynamodbav:"type"`
	Rules []ruleItem `dynamodbav:"rules"`
	Away  string     `dynamodbav:"away"`
}

type ruleItem struct {
	Type  string `dynamodbav:"t"`
	Field string `dynamodbav:"f,omitempty"`
}

// PutAssignmentRules stores the rule list of a line or a department of org (validated by the
// caller), replacing the one it had.
func (s *Store) PutAssignmentRules(ctx context.Context, org string, scope RuleScope, id string, r *inbox.AssignmentRules) error {
	it := rulesItem{PK: orgPK(org), SK: rulesSK(string(scope), id), Type: "rules", Rules: []ruleItem{}, Away: string(r.WhenAway)}
	for _, rule := range r.Rules {
		it.Rules = append(it.Rules, ruleItem{Type: string(rule.Type), Field: rule.Field})
	}
	return s.put(ctx, it, "", nil)
}

// DeleteAssignmentRules removes the rule list of a line (which then follows its department's)
// or of a department. Removing none is not an error.
func (s *Store) DeleteAssignmentRules(ctx context.Context, org string, scope RuleScope, id string) error {
	return s.delete(ctx, orgPK(org), rulesSK(string(scope), id), "")
}

// AssignmentRules reads the rule list that applies to conversations of line in dept: the
// line's own, or else the department's (one BatchGetItem call for both). It returns nil and
// "" when neither has one: nothing is assigned automatically.
func (s *Store) AssignmentRules(ctx context.Context, org, line, dept string) (*inbox.AssignmentRules, RuleScope, error) {
	sks := []string{rulesSK(string(ScopeLine), line)}
	if dept != "" {
		sks = append(sks, rulesSK(string(ScopeDepartment), dept))
	}
	items, err := getItems[rulesItem](ctx, s, sks, func(sk string) (string, string) { return orgPK(org), sk }, false)
	if err != nil {
		return nil, "", fmt.Errorf("assignment rules: %w", err)
	}
	found := map[RuleScope]*inbox.AssignmentRules{}
	for _, it := range items {
		r := &inbox.AssignmentRules{WhenAway: inbox.AwayPolicy(it.Away)}
		for _, ri := range it.Rules {
			r.Rules = append(r.Rules, inbox.Rule{Type: inbox.RuleType(ri.Type), Field: ri.Field})
		}
		scope := ScopeDepartment
		if it.SK == rulesSK(string(ScopeLine), line) {
			scope = ScopeLine
		}
		found[scope] = r
	}
	for _, scope := range []RuleScope{ScopeLine, ScopeDepartment} {
		if r := found[scope]; r != nil {
			return r, scope, nil
		}
	}
	return nil, "", nil
}
