package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// BenchmarkSendPath measures the API's half of an outbound message against DynamoDB Local and
// ElasticMQ: POST /v1/conversations/{id}/messages with an Idempotency-Key, through the router,
// from the caller's lookup to the Send on the outbound FIFO queue. Steady state: an agent
// answering 100 conversations they already hold. It reports the write units DynamoDB
// reports consumed per message; functions/send's BenchmarkSendPath measures the other half.
func BenchmarkSendPath(b *testing.B) {
	ctx := context.Background()
	counter := store.NewWriteCounter()
	st := store.New(testenv.DynamoDB(b), testenv.Table(b, "bench"), counter)
	org := testenv.ID("org")
	if err := st.PutDepartment(ctx, &inbox.Department{ID: "sales", OrgID: org, Name: "Ventas"}); err != nil {
		b.Fatal(err)
	}
	if err := st.PutUser(ctx, &inbox.User{ID: "ana", OrgID: org, Email: "ana@" + org + ".test", Name: "Ana", Role: inbox.RoleAgent, Departments: []string{"sales"}}); err != nil {
		b.Fatal(err)
	}
	line := &inbox.Line{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), DepartmentID: "sales", State: inbox.LineActive}
	if err := st.PutLine(ctx, line); err != nil {
		b.Fatal(err)
	}
	url, _ := testenv.FIFOQueue(b, 5, 30)
	a := &api{st: st, now: time.Now, outbound: queue.New(testenv.SQS(b), url)}
	r := a.routes()
	proc := ingest.New(st, time.Now, nil)

	request := func(conv, key string) request {
		req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: "/v1/conversations/" + conv + "/messages",
			Headers: map[string]string{"idempotency-key": key},
			Body:    `{"type":"text","text":"Sí, lo tenemos: te lo reservo hasta el viernes."}`}
		req.RequestContext.HTTP.Method = "POST"
		req.RequestContext.RequestID = key
		req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "ana", orgClaim: org}},
		}
		return req
	}
	send := func(conv, key string) {
		resp, err := r.serve(ctx, request(conv, key))
		if err != nil || resp.StatusCode != 202 {
			b.Fatalf("send: %d %s %v", resp.StatusCode, resp.Body, err)
		}
	}
	// 100 customers write; ana's first answer claims each conversation.
	convs := make([]string, 100)
	wrote := time.Now().Add(-time.Hour)
	for i := range convs {
		wa := fmt.Sprintf("549110%07d", i)
		_, err := proc.Apply(ctx, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: wrote,
			Message: &events.Message{ID: "wamid.in" + wa, Line: events.Line{Address: line.Address}, From: wa, Timestamp: wrote, Type: "text", Text: "¿Tienen el repuesto?"}})
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = inbox.ConversationID(org, line.ID, wa)
		send(convs[i], "warm-"+wa)
	}

	counter.Reset()
	b.ResetTimer()
	for i := range b.N {
		send(convs[i%len(convs)], fmt.Sprintf("k-%d", i))
	}
	b.StopTimer()
	units, _ := counter.Units()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
	b.ReportMetric(units/float64(b.N), "WCU/msg")
}
