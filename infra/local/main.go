// Command local runs Buzón on one machine, in the foreground: DynamoDB Local, ElasticMQ and
// S3Proxy in place of DynamoDB, SQS and S3; each function as its real bootstrap binary driven through a
// local Lambda Runtime API; an HTTP gateway in place of API Gateway (with its JWT
// authorizer); pollers in place of the SQS event source mappings; and tickers in place of the
// EventBridge schedules. Run it from the repository root with `make dev`; Ctrl-C stops it and
// everything it started.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/buzon/buzon/shared/deploy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "buzon local:", err)
		os.Exit(1)
	}
}

// run wires the stack and serves until ctx is done.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: s.logLevel()}))

	stopEmulators, err := startEmulators(ctx, s, log)
	if err != nil {
		return err
	}
	defer stopEmulators()
	clients := newAWSClients(s.dynamoDBURL(), s.sqsURL(), s.s3URL())
	res, err := provision(ctx, clients, s.SeedFile, time.Now())
	if err != nil {
		return err
	}

	// Functions outlive ctx a little: they stop after the gateway and pollers.
	fnCtx, stopFunctions := context.WithCancel(context.Background())
	fns, err := startFunctions(fnCtx, s, res, newLogSink(stderr), log)
	defer func() {
		stopFunctions()
		for _, f := range fns {
			f.Wait()
		}
	}()
	if err != nil {
		return err
	}
	invokers := map[string]invokeFunc{}
	for name, f := range fns {
		invokers[name] = f.Invoke
	}

	gw := &gateway{functions: invokers, tokens: newTokens(s.JWTKey, time.Now), userByEmail: res.Store.UserByEmail, log: log, now: time.Now}
	servers := []*http.Server{{Handler: gw, ReadHeaderTimeout: 10 * time.Second}}
	listeners := []net.Listener{}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	listeners = append(listeners, ln)
	if h := providerSandbox(s, log); h != nil {
		sln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.SandboxPort))
		if err != nil {
			ln.Close()
			return fmt.Errorf("provider sandbox: %w", err)
		}
		servers = append(servers, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, sln)
	}

	// The WebSocket API, on its own port as it has its own domain in AWS, with the routes and
	// the $connect authorizer the declaration names.
	var ws *wsGateway
	if routes := webSocketRoutes(deploy.Buzon); len(routes.Routes) > 0 {
		ws = newWSGateway(invokers, routes, log)
		wln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.WSPort))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("websocket gateway: %w", err)
		}
		servers = append(servers, &http.Server{Handler: ws, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, wln)
	}

	var workers sync.WaitGroup
	var streamReady []<-chan struct{}
	for i, srv := range servers {
		workers.Go(func() {
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("serve", "addr", listeners[i].Addr(), "error", err)
			}
		})
	}
	for _, decl := range deploy.Buzon.Functions {
		f := fns[decl.Name]
		if f == nil {
			continue
		}
		if decl.Consumes != "" {
			q := res.Queues[decl.Consumes]
			// As many pollers as the function keeps warm, more while distinct message groups
			// wait, up to the function's cap.
			template := poller{sqs: clients.sqs, queueURL: q.URL, queueARN: q.ARN, function: decl.Name, invoke: f.Invoke, log: log}
			newFleet(template, f.spec.Pool, f.spec.MaxPool, func(p *poller) { workers.Go(func() { p.run(ctx) }) }).run(ctx)
		}
		if decl.Stream {
			p := newStreamPoller(clients.streams, clients.sqs, res.StreamARN, decl.Name, f.Invoke, fanoutMapping(res.StreamFailures), log)
			p.redeliver = s.StreamRedeliver
			streamReady = append(streamReady, p.Ready())
			workers.Go(func() { p.run(ctx) })
		}
		if decl.Schedule != nil {
			sc := schedule{rule: deploy.Title(decl.Name) + "Schedule", function: decl.Name, every: decl.Schedule.Every, atStart: decl.Schedule.AtStart,
				invoke: f.Invoke, timeout: f.spec.Timeout + 10*time.Second, log: log}
			if every, ok := s.ticks()[decl.Name]; ok {
				sc.every = every
			}
			workers.Go(func() { sc.run(ctx) })
		}
	}

	// Let every process initialize before saying ready, so the first requests meet no cold
	// start and init failures show first.
	settleCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	for name, f := range fns {
		if err := f.Settled(settleCtx); err != nil {
			log.Warn("function still initializing", "function", name)
		}
	}
	for _, ready := range streamReady {
		select {
		case <-ready:
		case <-settleCtx.Done():
			log.Warn("stream poller not reading yet")
		}
	}
	cancel()
	if ws != nil {
		fmt.Fprintf(stdout, "realtime: %s (GET /v1/realtime)\n", s.webSocketURL())
	}
	fmt.Fprintf(stdout, "buzon local stack ready on http://127.0.0.1:%d\n", s.Port)

	<-ctx.Done()
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ws != nil {
		ws.CloseAll()
	}
	for _, srv := range servers {
		srv.Shutdown(shutdownCtx)
	}
	workers.Wait()
	if ws != nil {
		ws.Wait()
	}
	return nil
}
