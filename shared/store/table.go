package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// table.go holds the table operations every entity uses, written once: read and decode one
// item, query a partition, put, update and delete one item (each write counted), and run
// reads in parallel. Entities build their keys in keys.go and their items in their own file.

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": str(pk), "SK": str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num[N int | int64](n N) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(n), 10)}
}

func boolean(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// decode reads one raw item as T.
func decode[T any](raw map[string]types.AttributeValue) (*T, error) {
	it := new(T)
	if err := attributevalue.UnmarshalMap(raw, it); err != nil {
		return nil, fmt.Errorf("decode %T: %w", *it, err)
	}
	return it, nil
}

// decodeAll reads raw items as Ts, in order.
func decodeAll[T any](raws []map[string]types.AttributeValue) ([]T, error) {
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		it, err := decode[T](raw)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, nil
}

// get reads one item strongly consistently; ErrNotFound when absent.
func (s *Store) get(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	return s.read(ctx, pk, sk, true)
}

// read reads one item; ErrNotFound when absent.
func (s *Store) read(ctx context.Context, pk, sk string, consistent bool) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", pk, sk, err)
	}
	if out.Item == nil {
		return nil, notFound(entityOf(pk, sk))
	}
	return out.Item, nil
}

// getItem reads one item strongly consistently as T; ErrNotFound when absent.
func getItem[T any](ctx context.Context, s *Store, pk, sk string) (*T, error) {
	raw, err := s.get(ctx, pk, sk)
	if err != nil {
		return nil, err
	}
	return decode[T](raw)
}

// marshal is an item as DynamoDB takes it: an item struct, or an item already marshalled.
func marshal(it any) (map[string]types.AttributeValue, error) {
	if m, ok := it.(map[string]types.AttributeValue); ok {
		return m, nil
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", it, err)
	}
	return m, nil
}

// keysOf reads an item's partition keys per index, for the write counter.
func keysOf(item map[string]types.AttributeValue) indexKeys {
	s := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return indexKeys{PK: s("PK"), GSI1: s("GSI1PK"), GSI2: s("GSI2PK"), GSI3: s("GSI3PK"), GSI4: s("GSI4PK"), GSI5: s("GSI5PK"), waitSK: s("GSI5SK")}
}

// put writes one item (an item struct or a marshalled item), counting it. cond may be empty;
// a failed condition is ErrExists.
func (s *Store) put(ctx context.Context, it any, cond string, vals map[string]types.AttributeValue) error {
	return s.putOver(ctx, it, indexKeys{}, cond, nil, vals)
}

// putOver is put of an item that had the index keys old (index entries that move cost more),
// with names for the condition's attribute names that are reserved words.
func (s *Store) putOver(ctx context.Context, it any, old indexKeys, cond string, names map[string]string, vals map[string]types.AttributeValue) error {
	item, err := marshal(it)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{
		TableName:              aws.String(s.table),
		Item:                   item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeValues = vals
		if len(names) > 0 {
			in.ExpressionAttributeNames = names
		}
	}
	out, err := s.db.PutItem(ctx, in)
	if isConditionFailed(err) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", keysOf(item).PK, err)
	}
	s.count(old, keysOf(item), out.ConsumedCapacity)
	return nil
}

// update runs one UpdateItem on an item without index keys, counting it. cond may be empty;
// a failed condition is ErrExists, as for put.
func (s *Store) update(ctx context.Context, pk, sk, expr, cond string, names map[string]string, vals map[string]types.AttributeValue) error {
	in := &dynamodb.UpdateItemInput{
		TableName:              aws.String(s.table),
		Key:                    key(pk, sk),
		UpdateExpression:       aws.String(expr),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if len(vals) > 0 {
		in.ExpressionAttributeValues = vals
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	out, err := s.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("update %s %s: %w", pk, sk, err)
	}
	s.count(indexKeys{}, indexKeys{PK: pk}, out.ConsumedCapacity)
	return nil
}

// delete deletes one item without index keys, counting it. cond may be empty; a failed
// condition is a NotFoundError (the conditions ask for the item to exist).
func (s *Store) delete(ctx context.Context, pk, sk, cond string) error {
	return s.deleteWhere(ctx, pk, sk, cond, nil)
}

// deleteWhere is delete with values for its condition.
func (s *Store) deleteWhere(ctx context.Context, pk, sk, cond string, vals map[string]types.AttributeValue) error {
	in := &dynamodb.DeleteItemInput{
		TableName:              aws.String(s.table),
		Key:                    key(pk, sk),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if cond != "" {
		in.ConditionExpression, in.ExpressionAttributeValues = aws.String(cond), vals
	}
	out, err := s.db.DeleteItem(ctx, in)
	if isConditionFailed(err) {
		return notFound(entityOf(pk, sk))
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", pk, sk, err)
	}
	s.count(indexKeys{}, indexKeys{PK: pk}, out.ConsumedCapacity)
	return nil
}

// partition is a Query of partition pk of the table (index "") or of an index, whose key
// attributes are named after it; with a prefix, only the items whose sort key begins with it.
func (s *Store) partition(index, pk, prefix string) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String(index + "PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String(index + "PK = :pk AND begins_with(" + index + "SK, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = str(prefix)
	}
	return in
}

// sortKeyRange narrows a partition Query (without a prefix) to sort keys op v, op "<" or ">".
func sortKeyRange(in *dynamodb.QueryInput, index, op, v string) {
	in.KeyConditionExpression = aws.String(aws.ToString(in.KeyConditionExpression) + " AND " + index + "SK " + op + " :sk")
	in.ExpressionAttributeValues[":sk"] = str(v)
}

// queryRaw runs in page after page until the last page or until enough, asked after each
// page with the number of items so far, says to stop (nil: read every page). It returns the
// last page's LastEvaluatedKey: nil when the partition was read to its end.
func (s *Store) queryRaw(ctx context.Context, in *dynamodb.QueryInput, enough func(n int) bool) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("query %s: %w", describeQuery(in), err)
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil || (enough != nil && enough(len(out))) {
			return out, page.LastEvaluatedKey, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// query is queryRaw with the items decoded as T.
func query[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, enough func(n int) bool) ([]T, map[string]types.AttributeValue, error) {
	raws, last, err := s.queryRaw(ctx, in, enough)
	if err != nil {
		return nil, nil, err
	}
	items, err := decodeAll[T](raws)
	return items, last, err
}

// onePage stops a query after its first page (a Query with a Limit).
func onePage(int) bool { return true }

// queryAll reads every item of a Query as T.
func queryAll[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput) ([]T, error) {
	out, _, err := query[T](ctx, s, in, nil)
	return out, err
}

// describeQuery names a Query in errors: its index and partition.
func describeQuery(in *dynamodb.QueryInput) string {
	pk := ""
	if v, ok := in.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS); ok {
		pk = v.Value
	}
	if in.IndexName != nil {
		return *in.IndexName + " " + pk
	}
	return pk
}

// parallel runs fn(0) … fn(n-1), at most limit at a time, and returns their results in order;
// any error fails the whole (all errors joined).
func parallel[T any](n, limit int, fn func(i int) (T, error)) ([]T, error) {
	results := make([]T, n)
	errs := make([]error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = fn(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// concat flattens per-partition results in order.
func concat[T any](parts [][]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// getItems reads the items of ids (each once) as T, 100 per BatchGetItem call; ids without
// an item are left out, and the order is not the ids'.
func getItems[T any](ctx context.Context, s *Store, ids []string, keyOf func(id string) (pk, sk string), consistent bool) ([]T, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key(keyOf(id)))
		}
	}
	raws, err := s.batchGet(ctx, keys, consistent)
	if err != nil {
		return nil, err
	}
	return decodeAll[T](raws)
}
