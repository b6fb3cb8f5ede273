package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/buzon/buzon/shared/queue"
)

// The sweep is open loop: vegeta schedules POSTs by the clock at a constant rate and starts
// another worker whenever all are busy, so a slow answer never delays the next arrival, and
// every latency is counted from the POST's scheduled time, not from when it left (no
// coordinated omission).

// stepResult is one offered rate of the sweep.
type stepResult struct {
	RateMsgs      int     `json:"offered_msgs_per_s"`
	Seconds       float64 `json:"seconds"`
	Messages      int     `json:"messages"`
	Posts         int     `json:"posts"`
	AckP50ms      float64 `json:"ack_p50_ms"`
	AckP99ms      float64 `json:"ack_p99_ms"`
	AckP999ms     float64 `json:"ack_p999_ms"`
	EndToEndP50ms float64 `json:"end_to_end_p50_ms"`
	EndToEndP99ms float64 `json:"end_to_end_p99_ms"`
	Errors        int     `json:"errors"` // POSTs not answered 200 (retried, as a provider would)
	// Backlog is the inbound queue's depth (visible + in flight) at the middle and at the end
	// of the step; it grew when the second half left more than a tenth of its arrivals queued.
	BacklogMid   int     `json:"backlog_mid"`
	BacklogEnd   int     `json:"backlog_end"`
	BacklogGrew  bool    `json:"backlog_grew"`
	DrainSeconds float64 `json:"drain_seconds"`
	Lost         int     `json:"lost"`
	Duplicated   int     `json:"duplicated"`
	OutOfOrder   int     `json:"out_of_order_conversations"`
	Sustainable  bool    `json:"sustainable"`
	// The machine's 1-minute load average during the step (sampled with the backlog): the
	// emulators, the stack and the driver share it with whatever else runs.
	LoadAvgMean float64 `json:"load_avg_mean"`
	LoadAvgMax  float64 `json:"load_avg_max"`
	// What the step's messages cost (assign's batches logged from the step's start to the end
	// of its drain): batches fill as the rate grows, so the cost per message falls with it.
	WriteUnitsPerMessage float64 `json:"write_units_per_inbound_message"`
	MessagesPerBatch     float64 `json:"messages_per_assign_batch"`
	CostPerMillion       float64 `json:"cost_per_million_inbound_messages_usd"`
}

// maxE2EP99 is the sustainability bound: a rate is sustainable when its end-to-end p99 stays
// under it and the backlog does not grow.
const maxE2EP99 = 2 * time.Second

// stepPlan makes the POSTs of one step: rate × duration messages over the customers, perPost a
// POST, provider timestamps continuing each conversation's sequence (seq is shared across steps),
// and a share of POSTs sent again (provider retries).
func stepPlan(step, rate int, d time.Duration, o options, seq []int, t0 time.Time) *plan {
	p := &plan{byConv: map[string][]string{}, t0: t0}
	n := int(float64(rate) * d.Seconds())
	per := max(o.perPost, 1)
	var msgs, ids []string
	flush := func() {
		value := `"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phoneNumberID + `"},"messages":[` + strings.Join(msgs, ",") + `]`
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` + value + `}}]}]}`)
		p.posts = append(p.posts, body)
		p.postMsgs = append(p.postMsgs, ids)
		msgs, ids = nil, nil
	}
	r := newRand(uint64(step))
	for i := 0; i < n; i++ {
		c := r.IntN(o.conversations)
		wa := customer(c)
		id := fmt.Sprintf("wamid.sweep.%d.%d.%d", step, c, seq[c])
		ts := t0.Add(time.Duration(seq[c]) * time.Second).Unix()
		seq[c]++
		p.byConv[wa] = append(p.byConv[wa], id)
		msgs = append(msgs, fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"Consulta %d"}}`, wa, id, ts, i))
		ids = append(ids, id)
		if len(msgs) == per {
			flush()
		}
	}
	if len(msgs) > 0 {
		flush()
	}
	// Provider retries: a share of the POSTs again, later in the step (they carry no new id).
	first := len(p.posts)
	for i := 0; i < first; i++ {
		if r.Float64() < o.dupShare {
			j := min(i+1+r.IntN(first), len(p.posts))
			p.posts = append(p.posts[:j], append([][]byte{p.posts[i]}, p.posts[j:]...)...)
			p.postMsgs = append(p.postMsgs[:j], append([][]string{nil}, p.postMsgs[j:]...)...)
			p.dups++
		}
	}
	return p
}

// attack posts p's POSTs to url at postRate per second, open loop. A POST not answered 200 is
// posted again after the attack (as a provider retries), up to 4 more times. It returns the
// latencies from the scheduled times, the scheduled time of each message's first POST, and the
// failed attempts.
func attack(ctx context.Context, url string, p *plan, postRate float64) fireResult {
	res := fireResult{postedAt: map[string]time.Time{}}
	var next atomic.Int64
	interval := time.Duration(float64(time.Second) / postRate)
	targeter := func(t *vegeta.Target) error {
		i := int(next.Add(1) - 1)
		if i >= len(p.posts) {
			return vegeta.ErrNoTargets
		}
		t.Method = http.MethodPost
		t.URL = fmt.Sprintf("%s?i=%d", url, i)
		t.Body = p.posts[i]
		t.Header = http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature-256": {sign(p.posts[i])}}
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.Workers(32), vegeta.MaxWorkers(4096),
		vegeta.KeepAlive(true), vegeta.Connections(4096), vegeta.HTTP2(false))
	start := time.Now()
	var results []*vegeta.Result
	for r := range atk.Attack(targeter, vegeta.ConstantPacer{Freq: int(postRate), Per: time.Second}, 0, "sweep") {
		if _, ok := postIndex(r.URL); ok { // not the tick after the last target
			results = append(results, r)
		}
	}
	// Hit n was due at began + n × interval; it left then or later.
	var began time.Time
	for _, r := range results {
		if b := r.Timestamp.Add(-time.Duration(r.Seq) * interval); began.IsZero() || b.Before(began) {
			began = b
		}
	}
	var failed []int
	scheduledAt := make([]time.Time, len(p.posts))
	for _, r := range results {
		i, _ := postIndex(r.URL)
		scheduled := began.Add(time.Duration(r.Seq) * interval)
		scheduledAt[i] = scheduled
		res.acks = append(res.acks, r.End().Sub(scheduled))
		if r.Code != http.StatusOK {
			res.non200++
			failed = append(failed, i)
			continue
		}
		res.ok(p, i, scheduled)
	}
	// The provider's retries of what failed, closed loop: 4 more attempts 200 ms apart.
	client := &http.Client{Timeout: 30 * time.Second}
	for _, i := range failed {
		for attempt := 0; attempt < 4 && ctx.Err() == nil; attempt++ {
			time.Sleep(200 * time.Millisecond)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.posts[i]))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", sign(p.posts[i]))
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if err == nil && resp.StatusCode == http.StatusOK {
				res.retriedOK += attempt + 1
				res.ok(p, i, scheduledAt[i])
				break
			}
			res.non200++
		}
	}
	res.elapsed = time.Since(start)
	return res
}

// ok records that POST i was acknowledged: each message it carries counts from scheduled.
func (r *fireResult) ok(p *plan, i int, scheduled time.Time) {
	for _, id := range p.postMsgs[i] {
		if _, seen := r.postedAt[id]; !seen {
			r.postedAt[id] = scheduled
		}
	}
}

func postIndex(url string) (int, bool) {
	_, q, ok := strings.Cut(url, "?i=")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(q)
	return i, err == nil
}

// samples are what backlog saw during a step.
type samples struct {
	depth []int     // the inbound queue's depth
	load  []float64 // the 1-minute load average
}

// loadAvg is the machine's 1-minute load average (0 where /proc/loadavg is not there).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	fmt.Sscanf(string(b), "%f", &v)
	return v
}

// backlog samples the inbound queue's depth (visible + in flight) and the load average until
// stop is closed, and returns the samples.
func backlog(ctx context.Context, sq *sqs.Client, queueURL string, stop <-chan struct{}) <-chan samples {
	out := make(chan samples, 1)
	go func() {
		var s samples
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- s
				return
			case <-t.C:
			}
			s.load = append(s.load, loadAvg())
			a, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
				AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				continue
			}
			var v, nv int
			fmt.Sscanf(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], "%d", &v)
			fmt.Sscanf(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], "%d", &nv)
			s.depth = append(s.depth, v+nv)
		}
	}()
	return out
}

// sweep runs one step per offered rate against the stack, each followed by a drain and the
// correctness checks of its messages, and stops after the first rate that is not sustainable.
// Then it runs a step at half the maximum sustainable rate, unless that rate was measured.
func (s *stack) sweep(ctx context.Context, o options, rates []int) ([]stepResult, error) {
	seq := make([]int, o.conversations)
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	inboundURL, err := s.queueURL(ctx, "inbound.fifo")
	if err != nil {
		return nil, err
	}
	if err := s.warmUp(ctx, o, seq, t0); err != nil {
		return nil, err
	}
	var out []stepResult
	run := func(rate int) (stepResult, error) {
		step := len(out)
		p := stepPlan(step, rate, o.stepDuration, o, seq, t0)
		sr := stepResult{RateMsgs: rate}
		for _, ids := range p.postMsgs {
			sr.Messages += len(ids)
		}
		sr.Posts = len(p.posts)
		postRate := float64(rate) / float64(max(o.perPost, 1)) * float64(len(p.posts)) / float64(len(p.posts)-p.dups)
		fmt.Fprintf(os.Stderr, "load: step %d: %d msgs/s (%.1f POSTs/s) for %s\n", step, rate, postRate, o.stepDuration)
		from := logSize(s.logPath)
		stop := make(chan struct{})
		depth := backlog(ctx, s.sqs, inboundURL, stop)
		res := attack(ctx, s.base+"/webhooks/meta", p, postRate)
		close(stop)
		sampled := <-depth
		samples := sampled.depth
		for _, l := range sampled.load {
			sr.LoadAvgMean += l / float64(len(sampled.load))
			sr.LoadAvgMax = max(sr.LoadAvgMax, l)
		}
		sr.Seconds = res.elapsed.Seconds()
		sr.AckP50ms, sr.AckP99ms, sr.AckP999ms = ms(pct(res.acks, 0.5)), ms(pct(res.acks, 0.99)), ms(pct(res.acks, 0.999))
		sr.Errors = res.non200
		if len(samples) > 1 {
			sr.BacklogMid, sr.BacklogEnd = samples[len(samples)/2], samples[len(samples)-1]
			half := float64(rate) * o.stepDuration.Seconds() / 2
			sr.BacklogGrew = float64(sr.BacklogEnd-sr.BacklogMid) > 0.1*half
		}
		var rep report
		rep.Messages = sr.Messages
		if err := s.drainAndCheck(ctx, p, res, &rep); err != nil {
			return sr, err
		}
		sr.DrainSeconds = rep.DrainSeconds
		time.Sleep(2 * time.Second) // assign's last lines reach the log
		cost := report{Messages: sr.Messages}
		if err := costsBetween(s.logPath, from, logSize(s.logPath), sr.Posts, &cost); err == nil {
			sr.WriteUnitsPerMessage, sr.CostPerMillion = cost.WriteUnitsPerMessage, cost.CostPerMillionDollars
			sr.MessagesPerBatch = float64(sr.Messages) / float64(max(cost.AssignBatches, 1))
		}
		sr.EndToEndP50ms, sr.EndToEndP99ms = rep.EndToEndP50ms, rep.EndToEndP99ms
		sr.Lost, sr.Duplicated, sr.OutOfOrder = rep.Lost, rep.Duplicated, rep.OutOfOrder
		sr.Sustainable = !sr.BacklogGrew && sr.EndToEndP99ms < ms(maxE2EP99) && sr.Lost == 0
		fmt.Fprintf(os.Stderr, "load: step %d: ack p99 %.0f ms, e2e p99 %.0f ms, backlog %d→%d, lost %d, dup %d, sustainable %v, load average %.1f (max %.1f), %.2f WCU/msg, $%.2f per million\n",
			step, sr.AckP99ms, sr.EndToEndP99ms, sr.BacklogMid, sr.BacklogEnd, sr.Lost, sr.Duplicated, sr.Sustainable, sr.LoadAvgMean, sr.LoadAvgMax, sr.WriteUnitsPerMessage, sr.CostPerMillion)
		return sr, nil
	}
	best, over := 0, 0
	for _, rate := range rates {
		sr, err := run(rate)
		out = append(out, sr)
		if err != nil {
			return out, err
		}
		if !sr.Sustainable {
			// Rates past an unsustainable one show how latency grows there (and a step spoilt
			// by a stall of the machine does not end the sweep).
			if over++; over > o.past {
				break
			}
			continue
		}
		over, best = 0, rate
	}
	if half := best / 2; half > 0 && !measured(out, half) {
		sr, err := run(half)
		out = append(out, sr)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// logSize is how far the stack's log has been written.
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// warmRate is the warm-up's offered rate in messages per second.
const warmRate = 50

// warmUp posts one message from each customer, their first contact, and waits until it is
// stored: the steps then measure the steady state (a conversation's first message writes its
// contact, search items and opening, 11 write units; later ones 4), and the write units and
// cost count only from here (s.costsFrom).
func (s *stack) warmUp(ctx context.Context, o options, seq []int, t0 time.Time) error {
	p := &plan{byConv: map[string][]string{}, t0: t0}
	per := max(o.perPost, 1)
	var msgs, ids []string
	for c := 0; c < o.conversations; c++ {
		wa := customer(c)
		id := fmt.Sprintf("wamid.warm.%d", c)
		ts := t0.Add(time.Duration(seq[c]) * time.Second).Unix()
		seq[c]++
		p.byConv[wa] = append(p.byConv[wa], id)
		msgs = append(msgs, fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"Hola"}}`, wa, id, ts))
		ids = append(ids, id)
		if len(msgs) == per || c == o.conversations-1 {
			value := `"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phoneNumberID + `"},"contacts":[{"profile":{"name":"Cliente"},"wa_id":"` + wa + `"}],"messages":[` + strings.Join(msgs, ",") + `]`
			p.posts = append(p.posts, []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{`+value+`}}]}]}`))
			p.postMsgs = append(p.postMsgs, ids)
			msgs, ids = nil, nil
		}
	}
	fmt.Fprintf(os.Stderr, "load: warm-up: one message from each of %d customers at %d msgs/s\n", o.conversations, warmRate)
	res := attack(ctx, s.base+"/webhooks/meta", p, float64(warmRate)/float64(per))
	rep := report{Messages: o.conversations}
	if err := s.drainAndCheck(ctx, p, res, &rep); err != nil {
		return err
	}
	if rep.Lost > 0 || rep.Duplicated > 0 {
		return fmt.Errorf("warm-up: lost %d, duplicated %d", rep.Lost, rep.Duplicated)
	}
	// The stack's log is written as the functions print: give assign's last line a moment.
	time.Sleep(2 * time.Second)
	s.costsFrom = logSize(s.logPath)
	return nil
}

func measured(steps []stepResult, rate int) bool {
	for _, s := range steps {
		if s.RateMsgs == rate {
			return true
		}
	}
	return false
}

func (s *stack) queueURL(ctx context.Context, name string) (string, error) {
	u, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return aws.ToString(u.QueueUrl), nil
}

// sweepReport is what make load writes: the sweep, the ceilings and what follows from them.
type sweepReport struct {
	Steps           []stepResult `json:"steps"`
	Ceilings        ceilings     `json:"ceilings"`
	MaxSustainable  int          `json:"max_sustainable_msgs_per_s"`
	RatioOfCeiling  float64      `json:"max_sustainable_over_lower_ceiling"`
	HalfRate        int          `json:"half_rate_msgs_per_s"`
	AckP99AtHalfms  float64      `json:"ack_p99_at_half_ms"`
	E2EP99AtHalfms  float64      `json:"end_to_end_p99_at_half_ms"`
	DeadLetters     int          `json:"dead_letters"`
	Costs           report       `json:"costs"` // write units, invocations and cost, over the whole run
	MachineCores    int          `json:"machine_cores"`
	Conversations   int          `json:"conversations"`
	MessagesPerPost int          `json:"messages_per_post"`
	StepSeconds     float64      `json:"step_seconds"`
	DuplicatePosts  float64      `json:"duplicate_post_share"`
	GeneratedAtUTC  string       `json:"generated_at"`
	PoolScale       int          `json:"local_pool_scale"`
	PoolMax         int          `json:"local_pool_max"`
	PlotFile        string       `json:"plot"`
}

// runSweep is make load: the stack, the emulators' ceilings, the sweep, the plot and the report.
func runSweep(ctx context.Context, o options) error {
	rep := sweepReport{MachineCores: runtime.NumCPU(), Conversations: o.conversations, MessagesPerPost: o.perPost,
		StepSeconds: o.stepDuration.Seconds(), DuplicatePosts: o.dupShare, PoolScale: o.poolScale, PoolMax: o.poolMax, PlotFile: o.plot,
		GeneratedAtUTC: time.Now().UTC().Format(time.RFC3339)}
	st, err := startStack(ctx, o.poolScale, o.poolMax)
	if err != nil {
		return err
	}
	defer st.stop()
	fmt.Fprintln(os.Stderr, "load: stack ready; measuring the emulators' ceilings")
	if rep.Ceilings, err = measureCeilings(ctx, st, o.ceilingConc, 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "load: ceilings: SQS %.0f msgs/s, DynamoDB %.0f msgs/s\n", rep.Ceilings.SQSMsgs, rep.Ceilings.DynamoDBMsgs)
	rep.Steps, err = st.sweep(ctx, o, o.rates)
	if err != nil {
		return err
	}
	posts, msgs := 0, 0
	for _, s := range rep.Steps {
		if s.Sustainable && s.RateMsgs > rep.MaxSustainable {
			rep.MaxSustainable = s.RateMsgs
		}
		posts += s.Posts
		msgs += s.Messages
	}
	if rep.Ceilings.Lower > 0 {
		rep.RatioOfCeiling = float64(rep.MaxSustainable) / rep.Ceilings.Lower
	}
	rep.HalfRate = rep.MaxSustainable / 2
	for _, s := range rep.Steps {
		if s.RateMsgs == rep.HalfRate {
			rep.AckP99AtHalfms, rep.E2EP99AtHalfms = s.AckP99ms, s.EndToEndP99ms
		}
	}
	for _, name := range []string{"inbound-dlq.fifo", "outbound-dlq.fifo"} {
		u, err := st.queueURL(ctx, name)
		if err != nil {
			return err
		}
		dead, err := queue.New(st.sqs, u).Peek(ctx, 1000)
		if err != nil {
			return err
		}
		rep.DeadLetters += len(dead)
	}
	rep.Costs.Messages = msgs
	if err := costs(st.logPath, st.costsFrom, posts, &rep.Costs); err != nil {
		return err
	}
	if err := plotSweep(rep.Steps, o.plot); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Println(string(b))
	if err := os.WriteFile(o.out, b, 0o644); err != nil {
		return err
	}
	var broken []string
	for _, s := range rep.Steps {
		if s.Lost > 0 || s.Duplicated > 0 || s.OutOfOrder > 0 {
			broken = append(broken, fmt.Sprintf("%d msgs/s: lost %d, duplicated %d, out of order %d", s.RateMsgs, s.Lost, s.Duplicated, s.OutOfOrder))
		}
	}
	if rep.DeadLetters > 0 {
		broken = append(broken, fmt.Sprintf("%d dead letters", rep.DeadLetters))
	}
	if len(broken) > 0 {
		return fmt.Errorf("promises broken: %s", strings.Join(broken, "; "))
	}
	return nil
}
