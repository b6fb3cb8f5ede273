package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// installChromium is what `make test` runs (scripts/browser.sh) when no browser is found.
const installChromium = "apt-get update && apt-get install -y chromium"

// consoleLine is the Meta line of e2e/testdata/console-seed.json (its own number: the default
// seed's line belongs to another organization in the same table).
const consoleLine = "106540352249911"

// screenshots is where the browser test keeps its screenshots (git-ignored).
const screenshots = "screenshots"

// browser starts one headless Chromium for the test; each agent gets a tab in a browser context
// of its own (its own storage, as two people on two machines). It fails, never skips, when
// Chromium is missing.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium on PATH: install it (as root: %s), or run make test, which does", installChromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("LANGUAGE=en_US", "LANG=en_US.UTF-8"),
		chromedp.WindowSize(1280, 860),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// agent is one person's tab.
type agent struct {
	t       *testing.T
	name    string
	ctx     context.Context
	dialogs atomic.Int32 // alert, confirm, prompt: a script the page should never run
}

func (s *stack) agent(t *testing.T, root context.Context, name, email string, width, height int64) *agent {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	a := &agent{t: t, name: name, ctx: ctx}
	// The first Do attaches the tab for the tab's whole context (a shorter one would end it).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			a.dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	a.do(chromedp.Navigate(s.base + "/"))
	// The names the issue asks for: "Email" and "Sign in".
	a.do(chromedp.SendKeys(chromedp.CSS(`input[aria-label="Email"]`), email))
	a.do(chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign in"]`)))
	a.wait("the conversation list", `!!document.querySelector('ul[aria-label="Conversations"]')`)
	// Set once: still there at the end means the page was never reloaded.
	a.eval(`window.noReload = true`)
	return a
}

func (a *agent) do(actions ...chromedp.Action[chromedp.Void]) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		_, _, line, _ := runtime.Caller(1)
		a.t.Fatalf("%s: the step at console_test.go:%d: %v", a.name, line, err)
	}
}

func (a *agent) eval(js string) any {
	a.t.Helper()
	v, err := chromedp.Run(a.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		a.t.Fatalf("%s: %s: %v", a.name, js, err)
	}
	return v
}

// wait polls a JavaScript condition in the page until it holds (two minutes: a loaded 2-core
// machine), then returns; it never sleeps a fixed time before looking.
func (a *agent) wait(what, cond string) {
	a.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := chromedp.Run(a.ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+cond+`); } catch (e) { return false; } })()`))
		if err == nil && v {
			return
		}
		if time.Now().After(deadline) {
			a.screenshot("failed-" + a.name + ".png")
			a.t.Logf("%s: the page's state: %v", a.name, a.eval(`JSON.stringify({conv: window.buzonState.conv, thread: (window.buzonState.thread || []).map((e) => [e.id, e.kind, e.type, e.text])})`))
			a.t.Fatalf("%s: timed out waiting for %s (%s)", a.name, what, cond)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (a *agent) screenshot(name string) {
	a.t.Helper()
	b, err := chromedp.Run(a.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		a.t.Fatalf("%s: screenshot: %v", a.name, err)
	}
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshots, name), b, 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// itemOf is the list entry of the customer wa, showing name (the emulators may hold earlier
// runs' conversations of customers with the same name).
func itemOf(wa, name string) string {
	return `[...document.querySelectorAll('ul[aria-label="Conversations"] .item')].find((li) => li.dataset.contact === ` + js(wa) +
		` && li.querySelector('.item-name').textContent === ` + js(name) + `)`
}

func (s *stack) writes(t *testing.T, from, name, text string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"line": "meta", "phone_number_id": consoleLine, "from": from, "name": name, "text": text})
	resp, err := s.http.Post(s.sandbox+"/sandbox/customer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sandbox customer: %d", resp.StatusCode)
	}
}

// TestConsoleInABrowser drives the console in headless Chromium against the whole local stack,
// as two agents of one department would use it.
func TestConsoleInABrowser(t *testing.T) {
	s := start(t, "SEED_FILE=e2e/testdata/console-seed.json")
	root := browser(t)
	t.Cleanup(func() {
		if t.Failed() { // the whole log, beside the screenshots
			os.MkdirAll(screenshots, 0o755)
			os.WriteFile(filepath.Join(screenshots, "stack.log"), []byte(s.logs.String()), 0o644)
		}
	})
	admin := s.token(t, "admin@consola.test")
	if status, b := s.do(t, "PUT", "/v1/closing-reasons", admin, nil, []byte(`{"reasons":["Venta cerrada","Sin respuesta"]}`)); status != 200 {
		t.Fatalf("closing reasons: %d %s", status, b)
	}
	if status, b := s.do(t, "POST", "/v1/quick-replies", admin, nil, []byte(`{"title":"saludo","text":"Hola {{customer_name}}, soy {{user_name}}. ¿En qué te ayudo?"}`)); status != 201 {
		t.Fatalf("quick reply: %d %s", status, b)
	}

	// The page itself: its policy allows no inline script and connects only where it must.
	resp, err := s.http.Get(s.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, s.ws) {
		t.Errorf("Content-Security-Policy %q: want script-src 'self', no unsafe-inline, connect-src with %s", csp, s.ws)
	}

	sofia := s.agent(t, root, "sofia", "sofia@consola.test", 1280, 860)
	marta := s.agent(t, root, "marta", "marta@consola.test", 390, 844)
	sofia.wait("the live connection", `document.querySelector('.live-live')`)
	marta.wait("the live connection", `document.querySelector('.live-live')`)

	// A customer writes: the conversation appears in both lists without a reload.
	wa := fmt.Sprintf("54911%08d", time.Now().UnixNano()%1e8)
	s.writes(t, wa, "Lucía Pérez", "Hola, ¿tienen repuestos para un Fiat Uno 2004?")
	sofia.wait("Lucía's conversation in the list", itemOf(wa, "Lucía Pérez"))
	marta.wait("Lucía's conversation in the list", itemOf(wa, "Lucía Pérez"))
	sofia.eval(itemOf(wa, "Lucía Pérez") + `.querySelector('a').click()`)
	sofia.wait("the customer's message in the thread", `[...document.querySelectorAll('.msg.in .text')].some((p) => p.textContent.includes('Fiat Uno 2004'))`)
	marta.eval(itemOf(wa, "Lucía Pérez") + `.querySelector('a').click()`)
	marta.wait("the Claim button", `document.querySelector('button[aria-label="Claim"]')`)

	// Sofía claims; Marta sees it live and can no longer claim.
	sofia.do(chromedp.Click(chromedp.CSS(`button[aria-label="Claim"]`)))
	sofia.wait("the claim", `document.querySelector('.head-meta .assignee').textContent === 'You' && !document.querySelector('button[aria-label="Claim"]')`)
	marta.wait("Sofía's claim, live", `document.querySelector('.head-meta .assignee').textContent === 'Sofía Ventas' && !document.querySelector('button[aria-label="Claim"]')`)
	conv := sofia.eval(`location.hash.split('/')[2]`).(string)
	if status, _ := s.do(t, "POST", "/v1/conversations/"+conv+"/claim", s.token(t, "marta@consola.test"), nil, nil); status != 409 {
		t.Errorf("Marta claiming Sofía's conversation: %d, want 409", status)
	}

	// Sofía pulls Marta in as a collaborator: Marta's header says so, live.
	sofia.do(chromedp.Click(chromedp.CSS(`button[aria-label="Collaborators"]`)))
	sofia.wait("the collaborators dialog", `document.querySelector('dialog[open] select[name="user"]')`)
	sofia.do(chromedp.SetValue(chromedp.CSS(`dialog[open] select[name="user"]`), "u_marta_at_consola_test"))
	sofia.do(chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	marta.wait("Marta a collaborator, live", `document.querySelector('.tag.collab') && document.querySelector('.tag.collab').textContent === 'With You'`)

	// A quick reply with "/", then the reply; its ticks move to read (the sandbox reports it).
	sofia.do(chromedp.SendKeys(chromedp.CSS(`textarea[aria-label="Message"]`), "/salu"))
	sofia.wait("the quick reply picker", `!document.querySelector('.quick').hidden`)
	sofia.do(chromedp.SendKeys(chromedp.CSS(`textarea[aria-label="Message"]`), "\r"))
	sofia.wait("the quick reply's text", `document.querySelector('textarea[aria-label="Message"]').value.startsWith('Hola Lucía Pérez, soy Sofía Ventas')`)
	sofia.do(chromedp.Click(chromedp.CSS(`button[aria-label="Send"]`)))
	sofia.wait("the reply read", `[...document.querySelectorAll('.msg.out')].some((m) => m.textContent.includes('soy Sofía Ventas') && m.dataset.status === 'read')`)

	// An image: uploaded, sent, shown in the thread.
	img := filepath.Join(t.TempDir(), "repuesto.png")
	writePNG(t, img)
	sofia.do(chromedp.SetUploadFiles(chromedp.CSS(`.composer input[type=file]`), []string{img}))
	sofia.wait("the attachment ready to send", `!document.querySelector('.file-bar').hidden`)
	sofia.do(chromedp.Click(chromedp.CSS(`button[aria-label="Send"]`)))
	sofia.wait("the image in the thread", `[...document.querySelectorAll('.msg.out .media img')].some((i) => i.complete && i.naturalWidth === 64)`)

	// Catch-up: a message sent while the socket is down is fetched when it comes back.
	sofia.eval(`window.buzonLive.stop()`)
	sofia.wait("the connection down", `!window.buzonLive.ws`)
	s.writes(t, wa, "Lucía Pérez", "¿Me mandás el precio?")
	eventually(t, "the message stored", func() bool {
		_, b := s.do(t, "GET", "/v1/conversations/"+conv+"/messages?limit=100", admin, nil, nil)
		return bytes.Contains(b, []byte("el precio"))
	})
	sofia.eval(`window.buzonLive.start()`)
	sofia.wait("the missed message after the reconnect", `[...document.querySelectorAll('.msg.in .text')].some((p) => p.textContent.includes('el precio'))`)
	sofia.wait("the images loaded", `[...document.querySelectorAll('.media img')].length > 0 && [...document.querySelectorAll('.media img')].every((i) => i.complete && i.naturalWidth > 0)`)
	sofia.screenshot("console-desktop.png")

	// Close with a reason from the organization's list.
	sofia.do(chromedp.Click(chromedp.CSS(`button[aria-label="Close conversation"]`)))
	sofia.wait("the close dialog", `document.querySelector('dialog[open] select[name="reason"]')`)
	sofia.do(chromedp.SetValue(chromedp.CSS(`dialog[open] select[name="reason"]`), "Venta cerrada"))
	sofia.do(chromedp.SendKeys(chromedp.CSS(`dialog[open] textarea[name="note"]`), "Presupuesto enviado"))
	sofia.do(chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	sofia.wait("the conversation closed", `document.querySelector('button[aria-label="Reopen"]') && [...document.querySelectorAll('.event')].some((e) => e.textContent.includes('Closed: Venta cerrada'))`)
	marta.wait("the close, live", `[...document.querySelectorAll('.event')].some((e) => e.textContent.includes('Closed: Venta cerrada'))`)

	// The customer writes again: the conversation is open again, in the list and the thread.
	// WhatsApp stamps messages to the second: one stamped in the second of the close belongs
	// to the closed cycle, so the customer writes in the next second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	s.writes(t, wa, "Lucía Pérez", "Una cosa más")
	sofia.wait("the conversation back", `document.querySelector('button[aria-label="Close conversation"]') && [...document.querySelectorAll('.msg.in .text')].some((p) => p.textContent === 'Una cosa más')`)
	sofia.eval(`location.hash = '#/'`)
	sofia.wait("the conversation back in the list", itemOf(wa, "Lucía Pérez"))

	// A customer whose name and text are HTML and script: shown as text, nothing runs.
	hostile := `<img src=x onerror="alert('name')">`
	hostileText := `<script>alert('text')</script><b id="injected">hola</b>`
	other := fmt.Sprintf("54911%08d", (time.Now().UnixNano()+1)%1e8)
	s.writes(t, other, hostile, hostileText)
	marta.eval(`location.hash = '#/'`)
	marta.wait("the hostile conversation in the list", itemOf(other, hostile))
	marta.eval(itemOf(other, hostile) + `.querySelector('a').click()`)
	marta.wait("the hostile text shown as text", `[...document.querySelectorAll('.msg.in .text')].some((p) => p.textContent === `+js(hostileText)+`)`)
	if v := marta.eval(`!document.getElementById('injected') && !document.querySelector('img[src="x"]') && !document.querySelector('.thread script, .list script')`); v != true {
		t.Error("the customer's HTML became elements")
	}
	marta.screenshot("console-phone.png")

	// Shortcuts and the help screen; Spanish.
	sofia.do(chromedp.KeyEvent("?"))
	sofia.wait("the help screen", `document.querySelector('dialog[open]') && document.querySelector('dialog[open]').textContent.includes('Next conversation')`)
	sofia.do(chromedp.KeyEvent("\x1b"))
	sofia.wait("the help screen closed", `!document.querySelector('dialog[open]')`)
	sofia.do(chromedp.KeyEvent("j"))
	sofia.wait("the first conversation opened with j", `location.hash.startsWith('#/c/')`)
	marta.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Language"]`), "es"))
	marta.wait("the console in Spanish", `document.querySelector('ul[aria-label="Conversaciones"]') && document.documentElement.lang === 'es'`)

	for _, a := range []*agent{sofia, marta} {
		if n := a.dialogs.Load(); n != 0 {
			t.Errorf("%s: %d JavaScript dialogs opened: a customer's script ran", a.name, n)
		}
		if v := a.eval(`window.noReload === true`); v != true {
			t.Errorf("%s: the page was reloaded", a.name)
		}
	}
}

// writePNG writes a 64×48 image.
func writePNG(t *testing.T, path string) {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			m.Set(x, y, color.RGBA{R: uint8(x * 4), G: 118, B: uint8(y * 5), A: 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}
