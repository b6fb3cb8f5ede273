// Command dlq shows what sits in Buzón's dead-letter queues, with the reason, and redrives it
// after a fix: dead letters are an operation, not a grave.
//
//	dlq list [QUEUE]       the messages of each DLQ (peeked, not taken)
//	dlq redrive QUEUE      move every message back to its queue
//
// The queues are the deployment's (shared/deploy: inbound, outbound, media). Their URLs come
// from the settings that name them (INBOUND_QUEUE_URL, INBOUND_DLQ_URL, ...: the stack's
// outputs); where one is unset it is looked up by the local stack's name (inbound.fifo,
// inbound-dlq.fifo, ...) at the SQS endpoint in use.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/queue"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dlq:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var all []string
	for _, q := range deploy.Buzon.Queues {
		all = append(all, q.Name)
	}
	usage := "dlq list [" + strings.Join(all, "|") + "] | dlq redrive " + strings.Join(all, "|")
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		return fmt.Errorf("usage: %s", usage)
	}
	names := all
	if len(args) > 1 {
		if _, ok := deploy.Buzon.Queue(args[1]); !ok {
			return fmt.Errorf("unknown queue %q: %s", args[1], strings.Join(all, ", "))
		}
		names = args[1:2]
	} else if args[0] == "redrive" {
		return fmt.Errorf("redrive which queue: %s", strings.Join(all, ", "))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	client := sqs.NewFromConfig(awsCfg)
	for _, name := range names {
		src, err := resolve(ctx, client, os.Getenv(deploy.QueueSetting(name)), name+".fifo")
		if err != nil {
			return err
		}
		dlqURL, err := resolve(ctx, client, os.Getenv(deploy.QueueSetting(name+"-dlq")), name+"-dlq.fifo")
		if err != nil {
			return err
		}
		dlq := queue.New(client, dlqURL)
		if args[0] == "redrive" {
			n, err := dlq.Redrive(ctx, queue.New(client, src))
			fmt.Fprintf(out, "%s: redrove %d message(s)\n", name, n)
			if err != nil {
				return err
			}
			continue
		}
		dead, err := dlq.Peek(ctx, 1000)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d message(s)\n", name, len(dead))
		for _, d := range dead {
			reason := d.Reason
			if reason == "" {
				reason = fmt.Sprintf("failed %d deliveries", d.Receives)
			}
			fmt.Fprintf(out, "  %s  %s  group=%s  %s\n    %s\n", d.ID, d.SentAt.Format("2006-01-02T15:04:05Z"), d.Group, reason, preview(d.Body))
		}
	}
	return nil
}

func resolve(ctx context.Context, client *sqs.Client, url, name string) (string, error) {
	if url != "" {
		return url, nil
	}
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("find queue %s (set its URL variable): %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func preview(body string) string {
	body = strings.ReplaceAll(body, "\n", " ")
	if len(body) > 160 {
		return body[:160] + "…"
	}
	return body
}
