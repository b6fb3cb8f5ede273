// Command load is the load driver (make load): it starts the local stack, posts signed Cloud API
// deliveries to its webhook from many connections — N messages over C conversations of one line,
// several items per POST, a share of provider retries (duplicates) and out-of-order statuses —
// waits until the pipeline drains, and checks through the table that every distinct message is
// stored exactly once, in provider order within each conversation, and that no dead-letter
// queue holds anything. The same driver then runs against a bare endpoint that only verifies
// the signature and answers 200: the machine's ceiling. Figures go to stdout and, as JSON, to
// -out.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	localstack "github.com/buzon/buzon/infra/local/stack"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/queue"
	"github.com/buzon/buzon/shared/store"
)

// The default seed's Meta line (infra/local/seed.json).
const (
	org           = "acme"
	lineID        = "line-meta"
	phoneNumberID = "106540352242922"
	appSecret     = "load-meta-secret"
)

type options struct {
	messages, conversations, connections, maxBatch int
	dupShare                                       float64
	poolScale, poolMax                             int
	chaos                                          time.Duration
	freeze                                         time.Duration
	out                                            string
	// The open-loop sweep (-rates): one step per offered rate.
	rates        []int
	stepDuration time.Duration
	perPost      int
	past         int
	ceilingConc  int
	plot         string
}

func main() {
	var o options
	flag.IntVar(&o.messages, "n", 20000, "inbound messages")
	flag.IntVar(&o.conversations, "c", 1000, "conversations (customers) on the line")
	flag.IntVar(&o.connections, "conns", 32, "concurrent connections")
	flag.IntVar(&o.maxBatch, "batch", 10, "most items per POST (1..batch, random)")
	flag.Float64Var(&o.dupShare, "dups", 0.1, "share of deliveries posted again (provider retries)")
	flag.StringVar(&o.out, "out", "load-report.json", "where to write the figures as JSON")
	flag.IntVar(&o.poolScale, "scale", 2, "LOCAL_POOL_SCALE for the stack: warm processes per function × this")
	flag.IntVar(&o.poolMax, "pool-max", 16, "LOCAL_POOL_MAX for the stack: processes per function at most, as the runner scales out")
	flag.DurationVar(&o.chaos, "chaos", 0, "every this often, SIGKILL the newest assign or webhook process mid-run (0: off)")
	flag.DurationVar(&o.freeze, "freeze-dynamodb", 0, "once, a few seconds into the run, freeze DynamoDB Local (SIGSTOP) this long, then resume it")
	rates := flag.String("rates", "", "open-loop sweep: offered rates in messages/s, comma-separated (e.g. 50,100,200,400); empty: the closed-loop run")
	flag.DurationVar(&o.stepDuration, "step", 20*time.Second, "sweep: how long each rate is offered")
	flag.IntVar(&o.perPost, "per-post", 2, "sweep: messages per POST")
	flag.IntVar(&o.past, "past", 1, "sweep: unsustainable rates in a row before the sweep stops (the plot shows the knee)")
	flag.IntVar(&o.ceilingConc, "ceiling-conc", 16, "sweep: concurrency of the emulators' ceiling measurements")
	flag.StringVar(&o.plot, "plot", "load-sweep.png", "sweep: where to draw latency against offered rate (.png or .svg)")
	flag.Parse()
	for _, r := range strings.Split(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "load: -rates: %q is not a positive whole number\n", r)
			os.Exit(2)
		}
		o.rates = append(o.rates, n)
	}
	run := run
	if len(o.rates) > 0 {
		run = runSweep
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// report is what the driver measured.
type report struct {
	Messages        int     `json:"messages"`
	Conversations   int     `json:"conversations"`
	Deliveries      int     `json:"deliveries"`
	DuplicatePosts  int     `json:"duplicate_posts"`
	StatusItems     int     `json:"status_items"`
	AckP50ms        float64 `json:"ack_p50_ms"`
	AckP99ms        float64 `json:"ack_p99_ms"`
	AckMaxms        float64 `json:"ack_max_ms"`
	Throughput      float64 `json:"throughput_msgs_per_s"`
	BareThroughput  float64 `json:"bare_throughput_msgs_per_s"`
	BareAckP99ms    float64 `json:"bare_ack_p99_ms"`
	ThroughputRatio float64 `json:"throughput_ratio"`
	EndToEndP50ms   float64 `json:"end_to_end_p50_ms"`
	EndToEndP99ms   float64 `json:"end_to_end_p99_ms"`
	DrainSeconds    float64 `json:"drain_seconds"`
	Stored          int     `json:"stored_messages"`
	Lost            int     `json:"lost"`
	Duplicated      int     `json:"duplicated"`
	OutOfOrder      int     `json:"out_of_order_conversations"`
	DeadLetters     int     `json:"dead_letters"`
	Non200          int     `json:"never_acknowledged_attempts"` // failed attempts of deliveries that never got 200
	Retried         int     `json:"retried_attempts"`            // failed attempts the provider's retry got past
	Kills           int     `json:"processes_killed"`
	FrozenSeconds   float64 `json:"dynamodb_frozen_seconds"`
	// From the assign function's per-batch log lines ("batch applied").
	AssignBatches         int     `json:"assign_invocations"`
	WebhookInvocations    int     `json:"webhook_invocations"`
	InvocationsPer1000    float64 `json:"lambda_invocations_per_1000_messages"`
	WriteUnits            float64 `json:"dynamodb_write_units"`
	WriteUnitsPerMessage  float64 `json:"write_units_per_inbound_message"`
	CostPerMillionDollars float64 `json:"cost_per_million_inbound_messages_usd"`
	MachineCores          int     `json:"machine_cores"`
	GeneratedAtUTC        string  `json:"generated_at"`
	PostsPerSecond        float64 `json:"posts_per_s"`
	MeanItemsPerPost      float64 `json:"mean_items_per_post"`
}

func run(ctx context.Context, o options) error {
	rep := report{Messages: o.messages, Conversations: o.conversations, MachineCores: runtime.NumCPU(), GeneratedAtUTC: time.Now().UTC().Format(time.RFC3339)}
	plan := makePlan(o)
	rep.Deliveries, rep.DuplicatePosts, rep.StatusItems = len(plan.posts), plan.dups, plan.statuses
	rep.MeanItemsPerPost = float64(o.messages+plan.statuses) / float64(len(plan.posts)-plan.dups)

	// The ceiling: a bare endpoint on this machine that verifies the signature and answers 200.
	bare, err := bareEndpoint()
	if err != nil {
		return err
	}
	bareRes := fire(ctx, bare.url, plan, o.connections)
	bare.close()
	rep.BareThroughput = float64(o.messages) / bareRes.elapsed.Seconds()
	rep.BareAckP99ms = ms(pct(bareRes.acks, 0.99))

	st, err := startStack(ctx, o.poolScale, o.poolMax)
	if err != nil {
		return err
	}
	defer st.stop()
	fmt.Fprintln(os.Stderr, "load: stack ready; posting", len(plan.posts), "deliveries")
	stopChaos := chaos(o.chaos, &rep.Kills)
	frozen := freezeDynamoDB(st.dynamoPort, o.freeze)
	res := fire(ctx, st.base+"/webhooks/meta", plan, o.connections)
	stopChaos()
	rep.FrozenSeconds = (<-frozen).Seconds()
	rep.Throughput = float64(o.messages) / res.elapsed.Seconds()
	rep.PostsPerSecond = float64(len(plan.posts)) / res.elapsed.Seconds()
	rep.AckP50ms, rep.AckP99ms, rep.AckMaxms = ms(pct(res.acks, 0.5)), ms(pct(res.acks, 0.99)), ms(pct(res.acks, 1))
	rep.Non200 = res.non200 - res.retriedOK
	rep.Retried = res.retriedOK
	rep.ThroughputRatio = rep.Throughput / rep.BareThroughput

	if err := st.drainAndCheck(ctx, plan, res, &rep); err != nil {
		return err
	}
	if err := costs(st.logPath, 0, len(res.acks), &rep); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(b))
	if err := os.WriteFile(o.out, b, 0o644); err != nil {
		return err
	}
	if rep.Lost > 0 || rep.Duplicated > 0 || rep.OutOfOrder > 0 || rep.DeadLetters > 0 || rep.Non200 > 0 {
		// Non200 counts deliveries never acknowledged after the provider's retries.
		return fmt.Errorf("promises broken: lost %d, duplicated %d, out of order %d, dead letters %d, non-200 %d",
			rep.Lost, rep.Duplicated, rep.OutOfOrder, rep.DeadLetters, rep.Non200)
	}
	return nil
}

// plan is every POST the driver makes, in order, and the messages they carry.
type plan struct {
	posts    [][]byte
	postMsgs [][]string // message ids per post (empty for status-only items)
	dups     int
	statuses int
	// byConv lists each conversation's message ids in provider order.
	byConv map[string][]string
	t0     time.Time
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }

func customer(i int) string { return fmt.Sprintf("54911%08d", 30000000+i) }

func makePlan(o options) *plan {
	r := rand.New(rand.NewPCG(1, 2))
	p := &plan{byConv: map[string][]string{}, t0: time.Now().Add(-time.Hour).Truncate(time.Second)}
	type item struct {
		json string
		id   string
	}
	var items []item
	seq := make([]int, o.conversations)
	for i := 0; i < o.messages; i++ {
		c := r.IntN(o.conversations)
		wa := customer(c)
		id := fmt.Sprintf("wamid.load.%d.%d", c, seq[c])
		// Distinct provider seconds within a conversation, so "provider order" is defined.
		ts := p.t0.Add(time.Duration(seq[c]) * time.Second).Unix()
		seq[c]++
		p.byConv[wa] = append(p.byConv[wa], id)
		items = append(items, item{id: id, json: fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"Hola, consulta número %d"}}`, wa, id, ts, i)})
		// Out-of-order statuses for messages the business "sent" (unknown to the store: parked).
		if r.Float64() < 0.1 {
			for _, s := range []string{"read", "sent", "delivered"} {
				items = append(items, item{json: fmt.Sprintf(`{"id":"wamid.out.%d","status":"%s","timestamp":"%d","recipient_id":"%s"}`, i, s, ts, wa)})
				p.statuses++
			}
		}
	}
	for len(items) > 0 {
		n := min(1+r.IntN(o.maxBatch), len(items))
		batch := items[:n]
		items = items[n:]
		var msgs, sts []string
		var ids []string
		for _, it := range batch {
			if it.id != "" {
				msgs = append(msgs, it.json)
				ids = append(ids, it.id)
			} else {
				sts = append(sts, it.json)
			}
		}
		value := `"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phoneNumberID + `"}`
		if len(msgs) > 0 {
			value += `,"messages":[` + strings.Join(msgs, ",") + `]`
		}
		if len(sts) > 0 {
			value += `,"statuses":[` + strings.Join(sts, ",") + `]`
		}
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` + value + `}}]}]}`)
		p.posts = append(p.posts, body)
		p.postMsgs = append(p.postMsgs, ids)
		// A provider retry of this delivery, later in the run.
		if r.Float64() < o.dupShare {
			p.dups++
			p.posts = append(p.posts, body)
			p.postMsgs = append(p.postMsgs, nil)
		}
	}
	return p
}

type fireResult struct {
	acks      []time.Duration
	elapsed   time.Duration
	non200    int // failed attempts
	retriedOK int // failed attempts of posts that then got 200
	// postedAt is when each message's first POST was answered 200.
	postedAt map[string]time.Time
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// fire posts the plan from conns connections, each POST retried (as a provider would) until
// it gets 200, up to 5 times.
func fire(ctx context.Context, url string, p *plan, conns int) fireResult {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	var (
		mu        sync.Mutex
		res       = fireResult{postedAt: map[string]time.Time{}}
		next      atomic.Int64
		non200    atomic.Int64
		retriedOK atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(p.posts) {
					return
				}
				body := p.posts[i]
				failed := 0
				for attempt := 0; attempt < 5; attempt++ {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Hub-Signature-256", sign(body))
					t := time.Now()
					resp, err := client.Do(req)
					d := time.Since(t)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					res.acks = append(res.acks, d)
					mu.Unlock()
					if err == nil && resp.StatusCode == http.StatusOK {
						mu.Lock()
						for _, id := range p.postMsgs[i] {
							if _, ok := res.postedAt[id]; !ok {
								res.postedAt[id] = t
							}
						}
						mu.Unlock()
						retriedOK.Add(int64(failed))
						break
					}
					failed++
					non200.Add(1)
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.non200 = int(non200.Load())
	res.retriedOK = int(retriedOK.Load())
	return res
}

type bare struct {
	url   string
	close func()
}

func bareEndpoint() (*bare, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 3<<20))
		if err != nil || meta.VerifySignature(body, r.Header.Get("X-Hub-Signature-256"), []byte(appSecret)) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	return &bare{url: "http://" + ln.Addr().String() + "/webhooks/meta", close: func() { _ = srv.Close() }}, nil
}

type stack struct {
	base             string
	dynamoPort, sqsP int
	stop             func()
	logPath          string
	costsFrom        int64 // where in the log the measured part starts (after the sweep's warm-up)
	db               *dynamodb.Client
	sqs              *sqs.Client
	store            *store.Store
}

// startStack runs the local stack on free ports with its own emulators.
func startStack(ctx context.Context, scale, poolMax int) (*stack, error) {
	ports, err := localstack.FreePorts(5)
	if err != nil {
		return nil, err
	}
	s := &stack{dynamoPort: ports[0], sqsP: ports[1]}
	port := ports[2]
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	logs, err := os.CreateTemp("", "load-stack-*.log")
	if err != nil {
		return nil, err
	}
	s.logPath = logs.Name()
	st, err := localstack.Start(ctx, ".", []string{fmt.Sprintf("PORT=%d", port), fmt.Sprintf("SANDBOX_PORT=%d", ports[3]),
		fmt.Sprintf("DYNAMODB_PORT=%d", s.dynamoPort), fmt.Sprintf("SQS_PORT=%d", s.sqsP), fmt.Sprintf("S3_PORT=%d", ports[4]),
		"META_APP_SECRET=" + appSecret, "TICK_SECONDS=3600",
		// The write units come from assign's "batch applied" lines (info); the runner's own
		// per-request lines would only slow the run down.
		"LOG_LEVEL=info", "LOCAL_LOG_LEVEL=warn", fmt.Sprintf("LOCAL_POOL_SCALE=%d", scale), fmt.Sprintf("LOCAL_POOL_MAX=%d", poolMax)},
		logs, 4*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("%w (logs in %s)", err, logs.Name())
	}
	s.stop = func() {
		st.Stop()
		fmt.Fprintln(os.Stderr, "load: stack logs in", logs.Name())
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(fmt.Sprintf("http://127.0.0.1:%d", s.dynamoPort))
		o.DisableValidateResponseChecksum = true
	})
	s.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(fmt.Sprintf("http://127.0.0.1:%d", s.sqsP)) })
	s.store = store.New(s.db, "buzon", nil)
	return s, nil
}

// drainAndCheck waits until every message is stored (or nothing moves for a minute), then checks
// the promises through the table and the dead-letter queues.
func (s *stack) drainAndCheck(ctx context.Context, p *plan, res fireResult, rep *report) error {
	start := time.Now()
	var stored map[string][]*inbox.Message
	var err error
	last, lastChange := -1, time.Now()
	for {
		stored, err = readAll(ctx, s.store, p)
		if err != nil {
			return err
		}
		n := 0
		for _, ms := range stored {
			n += len(ms)
		}
		if n >= rep.Messages {
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	rep.DrainSeconds = time.Since(start).Seconds()

	var e2e []time.Duration
	for wa, want := range p.byConv {
		got := stored[wa]
		seen := map[string]int{}
		var order []string
		for _, m := range got {
			seen[m.ProviderID]++
			order = append(order, m.ProviderID)
			if t, ok := res.postedAt[m.ProviderID]; ok {
				e2e = append(e2e, m.CreatedAt.Sub(t))
			}
		}
		for _, id := range want {
			switch seen[id] {
			case 0:
				rep.Lost++
			case 1:
			default:
				rep.Duplicated += seen[id] - 1
			}
		}
		rep.Stored += len(got)
		if strings.Join(order, ",") != strings.Join(want, ",") && len(order) == len(want) {
			rep.OutOfOrder++
		}
	}
	rep.EndToEndP50ms, rep.EndToEndP99ms = ms(pct(e2e, 0.5)), ms(pct(e2e, 0.99))
	for _, name := range []string{"inbound-dlq.fifo", "outbound-dlq.fifo"} {
		u, err := s.queueURL(ctx, name)
		if err != nil {
			return err
		}
		dead, err := queue.New(s.sqs, u).Peek(ctx, 1000)
		if err != nil {
			return err
		}
		rep.DeadLetters += len(dead)
	}
	return nil
}

// readAll reads the messages of the plan in each of its conversations (a sweep's earlier steps
// wrote others there too).
func readAll(ctx context.Context, st *store.Store, p *plan) (map[string][]*inbox.Message, error) {
	out := map[string][]*inbox.Message{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(p.byConv))
	sem := make(chan struct{}, 16)
	for wa := range p.byConv {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			conv := inbox.ConversationID(org, lineID, wa)
			var msgs []*inbox.Message
			cursor := ""
			want := map[string]bool{}
			for _, id := range p.byConv[wa] {
				want[id] = true
			}
			for {
				entries, next, err := st.Thread(ctx, conv, 100, cursor)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range entries {
					if e.Message != nil && want[e.Message.ProviderID] {
						msgs = append(msgs, e.Message)
					}
				}
				if next == "" {
					break
				}
				cursor = next
			}
			mu.Lock()
			out[wa] = msgs
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// chaos kills, every interval, the newest assign or webhook bootstrap process (alternating):
// a consumer dies mid-batch, a webhook mid-request. The runner restarts them, as Lambda would.
func chaos(every time.Duration, kills *int) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			target := []string{".cache/bin/assign/bootstrap", ".cache/bin/webhook/bootstrap"}[i%2]
			if exec.Command("pkill", "-9", "-n", "-f", target).Run() == nil {
				*kills++
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Public on-demand prices, us-east-1, arm64 (AWS price pages, 2025): the inputs of the cost
// estimate. Reads are left out (the consumer's reads are 0.5-unit point reads, a small share).
const (
	priceWriteUnit     = 0.625 / 1e6  // DynamoDB on-demand, per write request unit
	priceLambdaRequest = 0.20 / 1e6   // per invocation
	priceLambdaGBs     = 0.0000133334 // per GB-second, arm64
	priceSQSFIFO       = 0.50 / 1e6   // per 64 KB request chunk, FIFO
	priceHTTPAPI       = 1.00 / 1e6   // API Gateway HTTP API, per request
	// Durations billed per invocation, as measured locally (upper bounds for Lambda).
	webhookGBs = 0.256 * 0.050 // 256 MB × 50 ms
	assignGBs  = 0.512 * 0.100 // 512 MB × 100 ms per batch
)

// costs reads the assign function's "batch applied" lines from the stack's log and estimates
// the cost of a million inbound messages from them and the webhook POST count.
func costs(logPath string, from int64, posts int, rep *report) error {
	return costsBetween(logPath, from, -1, posts, rep)
}

// costsBetween is costs over the log's bytes from..to (to < 0: its end).
func costsBetween(logPath string, from, to int64, posts int, rep *report) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return err
	}
	var r io.Reader = f
	if to >= 0 {
		r = io.LimitReader(f, max(to-from, 0))
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "assign.") || !strings.Contains(line, `"batch applied"`) {
			continue
		}
		i := strings.Index(line, "{")
		var l struct {
			WriteUnits float64 `json:"write_units"`
		}
		if i < 0 || json.Unmarshal([]byte(line[i:]), &l) != nil {
			continue
		}
		rep.AssignBatches++
		rep.WriteUnits += l.WriteUnits
	}
	if rep.AssignBatches == 0 {
		return errors.New("no 'batch applied' lines from assign in the stack log: cannot count write units")
	}
	n := float64(rep.Messages)
	rep.WebhookInvocations = posts
	rep.InvocationsPer1000 = float64(posts+rep.AssignBatches) * 1000 / n
	rep.WriteUnitsPerMessage = rep.WriteUnits / n
	perMsg := rep.WriteUnitsPerMessage*priceWriteUnit +
		float64(posts)/n*(priceHTTPAPI+priceLambdaRequest+webhookGBs*priceLambdaGBs) +
		float64(rep.AssignBatches)/n*(priceLambdaRequest+assignGBs*priceLambdaGBs) +
		// SQS requests: a batch send per POST (≤ 10 items), a receive and a batch delete per
		// consumer batch.
		float64(posts+2*rep.AssignBatches)/n*priceSQSFIFO
	rep.CostPerMillionDollars = perMsg * 1e6
	return nil
}

// freezeDynamoDB stops the DynamoDB Local process for d, 3 s into the run, then resumes it: an
// outage of the table while deliveries keep coming. The channel gives how long it was frozen.
func freezeDynamoDB(port int, d time.Duration) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	if d <= 0 {
		out <- 0
		return out
	}
	go func() {
		time.Sleep(3 * time.Second)
		pid, err := exec.Command("pgrep", "-f", fmt.Sprintf("DynamoDBLocal.jar .*-port %d", port)).Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: DynamoDB Local not found to freeze:", err)
			out <- 0
			return
		}
		p := strings.Fields(string(pid))[0]
		_ = exec.Command("kill", "-STOP", p).Run()
		start := time.Now()
		time.Sleep(d)
		_ = exec.Command("kill", "-CONT", p).Run()
		out <- time.Since(start)
	}()
	return out
}
