// Command rtload measures realtime under load (make rtload): it starts the local stack with one
// department of N agents, connects every agent's WebSocket, then plays customers writing to the
// department's line at a steady rate, each message a signed Cloud API webhook. It reports the
// time from the webhook's POST to the message.created event on each agent's socket (p50, p99,
// max), the PostToConnection calls and DynamoDB reads per inbound message (from the fan-out's
// log), and what realtime adds to the cost of a million inbound messages. Figures go to stdout
// and, as JSON, to -out.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	localstack "github.com/buzon/buzon/infra/local/stack"
)

const (
	appSecret     = "rtload-meta-secret"
	phoneNumberID = "106540352242922"
)

// Prices, us-east-1, on demand (/work/shared/AWS.md and the README's cost table).
const (
	postPrice          = 1.00 / 1e6   // API Gateway WebSocket: per message of up to 32 KB
	connMinutePrice    = 0.25 / 1e6   // per connection-minute
	lambdaRequest      = 0.20 / 1e6   // per invocation
	lambdaGBSecond     = 0.0000133334 // arm64
	fanoutMemoryGB     = 0.5
	readUnitPrice      = 0.125 / 1e6 // DynamoDB on demand, per read request unit
	baselinePerMillion = 3.56        // README: the pipeline without realtime, reads left out
)

type report struct {
	Agents               int     `json:"agents_online"`
	Rate                 float64 `json:"messages_per_s"`
	Messages             int     `json:"messages"`
	Delivered            int     `json:"events_delivered"`
	Missing              int     `json:"events_missing"`
	Duplicates           int     `json:"events_duplicated"`
	P50ms                float64 `json:"p50_ms"`
	P99ms                float64 `json:"p99_ms"`
	Maxms                float64 `json:"max_ms"`
	FanoutInvocations    int     `json:"fanout_invocations"`
	RecordsPerInvocation float64 `json:"records_per_invocation"`
	PostsPerMessage      float64 `json:"posts_per_inbound_message"`
	ReadCallsPerMessage  float64 `json:"read_calls_per_inbound_message"`
	ReadUnitsPerMessage  float64 `json:"read_units_per_inbound_message"`
	FanoutMsPerMessage   float64 `json:"fanout_ms_per_inbound_message"`
	RealtimePerMillion   float64 `json:"realtime_cost_per_million_usd"`
	TotalPerMillion      float64 `json:"total_cost_per_million_usd"`
	GeneratedAt          string  `json:"generated_at"`
	LoadAvg              string  `json:"load_avg_at_end"` // /proc/loadavg when the run ended: the machine is shared
}

func main() {
	agents := flag.Int("agents", 50, "agents of the department, each with a socket open")
	rate := flag.Float64("rate", 100, "inbound messages per second")
	dur := flag.Duration("d", 30*time.Second, "how long to send")
	convs := flag.Int("c", 200, "conversations (customers)")
	out := flag.String("out", "rtload-report.json", "where to write the figures as JSON")
	flag.Parse()
	if err := run(context.Background(), *agents, *rate, *dur, *convs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "rtload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, agents int, rate float64, dur time.Duration, convs int, out string) error {
	dir, err := os.MkdirTemp("", "rtload-")
	if err != nil {
		return err
	}
	seed := filepath.Join(dir, "seed.json")
	if err := writeSeed(seed, agents); err != nil {
		return err
	}
	ports, err := localstack.FreePorts(6)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	ws := fmt.Sprintf("ws://127.0.0.1:%d", ports[5])
	logPath := filepath.Join(dir, "stack.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	st, err := localstack.Start(ctx, ".", []string{fmt.Sprintf("PORT=%d", ports[0]), fmt.Sprintf("SANDBOX_PORT=%d", ports[1]),
		fmt.Sprintf("DYNAMODB_PORT=%d", ports[2]), fmt.Sprintf("SQS_PORT=%d", ports[3]), fmt.Sprintf("S3_PORT=%d", ports[4]),
		fmt.Sprintf("WS_PORT=%d", ports[5]), "SEED_FILE=" + seed, "META_APP_SECRET=" + appSecret, "TICK_SECONDS=3600",
		"LOG_LEVEL=info", "LOCAL_POOL_SCALE=2"}, logs, 4*time.Minute)
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, logPath)
	}
	defer func() {
		st.Stop()
		fmt.Fprintln(os.Stderr, "rtload: stack logs in", logPath)
	}()

	// Every agent connects.
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	arrivals := map[string][]time.Time{} // message text → arrival per socket
	var readers sync.WaitGroup
	var conns []*websocket.Conn
	for i := 1; i <= agents; i++ {
		tok, err := token(client, base, fmt.Sprintf("agent%02d@rt.test", i))
		if err != nil {
			return err
		}
		c, _, err := websocket.Dial(ctx, ws+"/?token="+tok, nil)
		if err != nil {
			return fmt.Errorf("agent %d: connect: %w", i, err)
		}
		c.SetReadLimit(1 << 20)
		conns = append(conns, c)
		readers.Go(func() {
			for {
				_, b, err := c.Read(context.Background())
				if err != nil {
					return
				}
				now := time.Now()
				var evs []struct {
					Type    string `json:"type"`
					Message *struct {
						Text string `json:"text"`
					} `json:"message"`
				}
				if json.Unmarshal(b, &evs) != nil {
					continue
				}
				mu.Lock()
				for _, e := range evs {
					if e.Type == "message.created" && e.Message != nil && strings.HasPrefix(e.Message.Text, "rt-") {
						arrivals[e.Message.Text] = append(arrivals[e.Message.Text], now)
					}
				}
				mu.Unlock()
			}
		})
	}
	// Keep every socket alive past the idle timeout: one ping each per minute.
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-pingCtx.Done():
				return
			case <-t.C:
				for _, c := range conns {
					c.Write(pingCtx, websocket.MessageText, []byte(`{"action":"ping"}`))
				}
			}
		}
	}()
	startOffset := logSize(logPath)

	// A steady rate of customer messages.
	n := int(rate * dur.Seconds())
	sent := make([]time.Time, n)
	var posts sync.WaitGroup
	sem := make(chan struct{}, 64)
	t0 := time.Now()
	for i := range n {
		time.Sleep(time.Until(t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		sem <- struct{}{}
		posts.Go(func() {
			defer func() { <-sem }()
			body := delivery(fmt.Sprintf("54911%08d", i%convs), fmt.Sprintf("wamid.rt%d.%d", t0.Unix(), i), fmt.Sprintf("rt-%d", i))
			req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/meta", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", sign(body))
			mu.Lock()
			sent[i] = time.Now()
			mu.Unlock()
			for attempt := 0; attempt < 5; attempt++ {
				resp, err := client.Do(req.Clone(ctx))
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return
					}
				}
				req.Body, _ = req.GetBody()
				time.Sleep(time.Second)
			}
		})
	}
	posts.Wait()
	fmt.Fprintf(os.Stderr, "rtload: sent %d messages in %s\n", n, time.Since(t0).Round(time.Millisecond))

	// Wait until every socket has every message, or nothing arrives for 30 s.
	last, lastChange := -1, time.Now()
	for {
		mu.Lock()
		got := 0
		for _, a := range arrivals {
			got += len(a)
		}
		mu.Unlock()
		if got >= n*agents || time.Since(lastChange) > 30*time.Second {
			break
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopPing()
	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "done")
	}
	readers.Wait()

	rep := report{Agents: agents, Rate: rate, Messages: n, GeneratedAt: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAvg = strings.TrimSpace(string(b))
	}
	var lat []float64
	for i := range n {
		a := arrivals[fmt.Sprintf("rt-%d", i)]
		rep.Delivered += min(len(a), agents)
		rep.Duplicates += max(0, len(a)-agents)
		rep.Missing += max(0, agents-len(a))
		for _, at := range a {
			lat = append(lat, float64(at.Sub(sent[i]).Microseconds())/1000)
		}
	}
	sort.Float64s(lat)
	rep.P50ms, rep.P99ms = pct(lat, 0.50), pct(lat, 0.99)
	if len(lat) > 0 {
		rep.Maxms = lat[len(lat)-1]
	}
	if err := fanoutFigures(logPath, startOffset, &rep, agents); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(b))
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// fanoutFigures sums the fan-out's per-invocation log lines written during the run.
func fanoutFigures(path string, offset int64, rep *report, agents int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	f.Seek(offset, 0)
	var records, posts, reads, users, ms int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, `{"timestamp"`)
		if !strings.HasPrefix(line, "fanout") || i < 0 || !strings.Contains(line, `"message":"fanout"`) {
			continue
		}
		var l struct {
			Records, Posts, MS int
			ReadCalls          int `json:"read_calls"`
			UsersRead          int `json:"users_read"`
		}
		if json.Unmarshal([]byte(line[i:]), &l) != nil {
			continue
		}
		rep.FanoutInvocations++
		records += l.Records
		posts += l.Posts
		reads += l.ReadCalls
		users += l.UsersRead
		ms += l.MS
	}
	m := float64(rep.Messages)
	if rep.FanoutInvocations > 0 {
		rep.RecordsPerInvocation = float64(records) / float64(rep.FanoutInvocations)
	}
	rep.PostsPerMessage = float64(posts) / m
	rep.ReadCallsPerMessage = float64(reads) / m
	// A Query or GetItem of a small partition or item reads under 4 KB: half a unit, eventually
	// consistent; a BatchGetItem bills half a unit per user item.
	rep.ReadUnitsPerMessage = (float64(reads)*0.5 + float64(users)*0.5) / m
	rep.FanoutMsPerMessage = float64(ms) / m
	perMessage := rep.PostsPerMessage*postPrice +
		float64(rep.FanoutInvocations)/m*lambdaRequest +
		rep.FanoutMsPerMessage/1000*fanoutMemoryGB*lambdaGBSecond +
		rep.ReadUnitsPerMessage*readUnitPrice +
		// the agents' connection-minutes while a million messages arrive at this rate
		float64(agents)*(1/rep.Rate)/60*connMinutePrice
	rep.RealtimePerMillion = perMessage * 1e6
	rep.TotalPerMillion = rep.RealtimePerMillion + baselinePerMillion
	return sc.Err()
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func writeSeed(path string, agents int) error {
	var users []map[string]any
	for i := 1; i <= agents; i++ {
		users = append(users, map[string]any{"email": fmt.Sprintf("agent%02d@rt.test", i), "name": fmt.Sprintf("Agent %02d", i),
			"role": "agent", "departments": []string{"sales"}})
	}
	seed := map[string]any{"organizations": []any{map[string]any{
		"id": "rt", "name": "Realtime load", "departments": []any{map[string]string{"id": "sales", "name": "Ventas"}},
		"users": users,
		"lines": []any{map[string]string{"id": "line-meta", "provider": "meta", "phone_number_id": phoneNumberID,
			"display_phone_number": "15550783881", "waba_id": "102290129340398", "department": "sales"}},
	}}}
	b, err := json.Marshal(seed)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func token(c *http.Client, base, email string) (string, error) {
	resp, err := c.Post(base+"/local/token", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("token for %s: %d", email, resp.StatusCode)
	}
	return out.Token, nil
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is a Cloud API webhook with one text message from wa.
func delivery(wa, id, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},"contacts":[{"profile":{"name":"Cliente"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"%s"}}]}}]}]}`,
		phoneNumberID, wa, wa, id, time.Now().Unix(), text))
}
