package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/buzon/buzon/shared/deploy"
)

// TestDeclaredStreamAndBucket builds a stack from a declaration that uses what Buzón's does
// not yet (a table-stream consumer, bucket access), so that the next function that declares
// them gets a working stack: the table streams new and old images to an event source with
// partial batch failure and a dead-letter queue of its own, and bucket access is read and put,
// never delete. Not parallel: it calls into jsii.
func TestDeclaredStreamAndBucket(t *testing.T) {
	d := deploy.Deployment{Functions: []deploy.Function{
		{Name: "fanout", Description: "stream consumer", MemoryMB: 256, Timeout: 30 * time.Second, Pool: 1,
			Stream: true, Table: deploy.Read},
		{Name: "media", Description: "bucket user", MemoryMB: 256, Timeout: 30 * time.Second, Pool: 1,
			Bucket: deploy.ReadWrite, Routes: []deploy.Route{{Method: "POST", Path: "/media"}}},
		{Name: "viewer", Description: "bucket reader", MemoryMB: 256, Timeout: 30 * time.Second, Pool: 1,
			Bucket: deploy.Read, Routes: []deploy.Route{{Method: "GET", Path: "/media/{key+}", Auth: true}}},
	}}
	assets := t.TempDir()
	for _, name := range d.Names() {
		if err := os.MkdirAll(filepath.Join(assets, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(t.TempDir(), "cdk.out"))})
	st, err := NewStack(app, "Declared", &StackProps{Deployment: &d, AssetRoot: assets})
	if err != nil {
		t.Fatal(err)
	}
	tp := assertions.Template_FromStack(st, nil)
	got := cfnTemplate(*tp.ToJSON())

	var table, fanoutRole, mediaRole, viewerRole string
	for id, p := range got.resources("AWS::DynamoDB::Table") {
		table = id
		if v := dig(p, "StreamSpecification", "StreamViewType"); v != "NEW_AND_OLD_IMAGES" {
			t.Errorf("StreamViewType = %v, want NEW_AND_OLD_IMAGES", v)
		}
	}
	for _, p := range got.resources("AWS::Lambda::Function") {
		role := refID(p["Role"])
		switch p["Description"] {
		case "stream consumer":
			fanoutRole = role
		case "bucket user":
			mediaRole = role
		case "bucket reader":
			viewerRole = role
		}
	}
	mappings := got.resources("AWS::Lambda::EventSourceMapping")
	if len(mappings) != 1 {
		t.Fatalf("%d event source mappings, want 1", len(mappings))
	}
	for _, p := range mappings {
		if refID(p["EventSourceArn"]) != table {
			t.Errorf("event source %v, want the table's stream", p["EventSourceArn"])
		}
		if v := p["FunctionResponseTypes"]; len(asSlice(v)) != 1 || asSlice(v)[0] != "ReportBatchItemFailures" {
			t.Errorf("FunctionResponseTypes = %v", v)
		}
		if dig(p, "DestinationConfig", "OnFailure", "Destination") == nil {
			t.Errorf("no on-failure destination: a record that keeps failing would be lost")
		}
	}
	has := func(grants map[string][]string, action string) bool {
		for _, actions := range grants {
			for _, a := range actions {
				if a == action {
					return true
				}
			}
		}
		return false
	}
	for _, tt := range []struct {
		name, role string
		want       map[string]bool
	}{
		{"fanout", fanoutRole, map[string]bool{"dynamodb:GetRecords": true, "dynamodb:Query": true, "dynamodb:PutItem": false, "s3:GetObject*": false}},
		{"media", mediaRole, map[string]bool{"s3:GetObject*": true, "s3:PutObject": true, "s3:DeleteObject*": false, "dynamodb:GetItem": false}},
		{"viewer", viewerRole, map[string]bool{"s3:GetObject*": true, "s3:PutObject": false, "s3:DeleteObject*": false}},
	} {
		grants := got.grants(tt.role)
		for action, want := range tt.want {
			if has(grants, action) != want {
				t.Errorf("%s: %s allowed = %v, want %v (grants %v)", tt.name, action, !want, want, grants)
			}
		}
	}
	routes := map[string]bool{}
	for _, p := range got.resources("AWS::ApiGatewayV2::Route") {
		routes[p["RouteKey"].(string)+" "+p["AuthorizationType"].(string)] = true
	}
	for _, want := range []string{"POST /media NONE", "GET /media/{key+} JWT"} {
		if !routes[want] {
			t.Errorf("no route %q (have %v)", want, sortedKeys(routes))
		}
	}

	d.Functions[0].WebSocket = []string{"$connect"}
	if _, err := NewStack(awscdk.NewApp(nil), "WebSocket", &StackProps{Deployment: &d, AssetRoot: assets}); err == nil {
		t.Error("NewStack with WebSocket routes = nil error, want one until the stack builds a WebSocket API")
	}
}
