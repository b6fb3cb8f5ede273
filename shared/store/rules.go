package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode rules: %w", err)
	}
	return s.put(ctx, item, "", indexKeys{PK: it.PK})
}

// DeleteAssignmentRules removes the rule list of a line (which then follows its department's)
// or of a department. Removing none is not an error.
func (s *Store) DeleteAssignmentRules(ctx context.Context, org string, scope RuleScope, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(orgPK(org), rulesSK(string(scope), id))})
	if err != nil {
		return fmt.Errorf("delete rules of %s %s: %w", scope, id, err)
	}
	s.count(indexKeys{}, indexKeys{PK: orgPK(org)}, nil)
	return nil
}

// AssignmentRules reads the rule list that applies to conversations of line in dept: the
// line's own, or else the department's (one BatchGetItem call for both). It returns nil and
// "" when neither has one: nothing is assigned automatically.
func (s *Store) AssignmentRules(ctx context.Context, org, line, dept string) (*inbox.AssignmentRules, RuleScope, error) {
	keys := []map[string]types.AttributeValue{key(orgPK(org), rulesSK(string(ScopeLine), line))}
	if dept != "" {
		keys = append(keys, key(orgPK(org), rulesSK(string(ScopeDepartment), dept)))
	}
	items, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return nil, "", fmt.Errorf("assignment rules: %w", err)
	}
	found := map[RuleScope]*inbox.AssignmentRules{}
	for _, raw := range items {
		var it rulesItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("decode rules: %w", err)
		}
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
