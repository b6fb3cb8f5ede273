package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Index names; the CDK stack declares the same (infra/stack_test.go checks it).
const (
	IndexQueue    = "GSI1" // department queues: open/done × unassigned/assigned, sharded
	IndexAssignee = "GSI2" // one agent's conversations
	IndexLookup   = "GSI3" // lookups: user by email, contact search
	IndexWindow   = "GSI4" // window-expiry buckets, keys only
	IndexWaiting  = "GSI5" // waiting conversations of a department, oldest first, keys only
)

// CreateTable creates the table with its indexes, as the CDK stack does, for local runs and
// tests. An existing table is left as it is. The stream is EnableStream's: DynamoDB Local
// writes every stream record to its own store, so tables that need none go without.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string) error {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	gsi := func(name string, proj types.ProjectionType) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(name + "PK"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(name + "SK"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: proj},
		}
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			s("PK"), s("SK"), s("GSI1PK"), s("GSI1SK"), s("GSI2PK"), s("GSI2SK"),
			s("GSI3PK"), s("GSI3SK"), s("GSI4PK"), s("GSI4SK"), s("GSI5PK"), s("GSI5SK"),
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("SK"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(IndexQueue, types.ProjectionTypeAll),
			gsi(IndexAssignee, types.ProjectionTypeAll),
			gsi(IndexLookup, types.ProjectionTypeAll),
			gsi(IndexWindow, types.ProjectionTypeKeysOnly),
			gsi(IndexWaiting, types.ProjectionTypeKeysOnly),
		},
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}

// EnableStream gives the table its stream as the stack does (new and old images, read by the
// realtime fan-out) and returns the stream's ARN; a table that has it keeps it.
func EnableStream(ctx context.Context, db *dynamodb.Client, name string) (string, error) {
	if arn, err := StreamARN(ctx, db, name); err != nil || arn != "" {
		return arn, err
	}
	_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: &types.StreamSpecification{
		StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages,
	}})
	if err != nil {
		return "", fmt.Errorf("enable the stream of %s: %w", name, err)
	}
	return StreamARN(ctx, db, name)
}

// StreamARN returns the ARN of the table's stream, "" if it has none.
func StreamARN(ctx context.Context, db *dynamodb.Client, name string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", name, err)
	}
	if s := out.Table.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) {
		return "", nil
	}
	return aws.ToString(out.Table.LatestStreamArn), nil
}
