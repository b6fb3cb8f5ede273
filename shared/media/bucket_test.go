package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/media"
	"github.com/buzon/buzon/shared/testenv"
)

func newBucket(t *testing.T) *media.Bucket {
	t.Helper()
	return media.NewBucket(testenv.S3(t), testenv.Bucket(t))
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// peakHeap samples the heap in use every few milliseconds until stop is called, and returns
// the largest sample above the heap when it started.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak {
				peak = ms.HeapInuse - base
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// A 100 MB document streams into the bucket holding a few parts at most. Not parallel: the
// heap is the process's.
func TestPutStreamsWithBoundedMemory(t *testing.T) {
	b := newBucket(t)
	ctx := context.Background()
	const size = 100 * media.MB
	want := sha256.New()
	io.Copy(want, io.LimitReader(rand.NewChaCha8([32]byte{7}), size))
	sum := hex.EncodeToString(want.Sum(nil))

	stop := peakHeap()
	obj, err := b.Put(ctx, "in/big.pdf", "application/pdf", "big.pdf", io.LimitReader(rand.NewChaCha8([32]byte{7}), size),
		100*media.MB, media.Expect{Size: size, SHA256: sum})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != size || obj.SHA256 != sum {
		t.Errorf("Put = %+v, want %d bytes, sha256 %s", obj, size, sum)
	}
	// Two parts of 5 MB, the SDK's buffers and the test's own sampling: 32 MB is the bound,
	// a third of the file.
	t.Logf("peak heap above the start during a 100 MB put: %.1f MB", float64(peak)/media.MB)
	if peak > 32*media.MB {
		t.Errorf("peak heap %.1f MB above the start, want under 32 MB (the file is 100 MB)", float64(peak)/media.MB)
	}
	r, err := b.Open(ctx, "in/big.pdf")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := sha256.New()
	if n, _ := io.Copy(got, r); n != size || hex.EncodeToString(got.Sum(nil)) != sum {
		t.Errorf("read back %d bytes, sha256 %x", n, got.Sum(nil))
	}
}

func TestPut(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	ctx := context.Background()
	body := []byte("\x89PNG a small image")
	sum := sha256.Sum256(body)

	t.Run("over the limit: refused, nothing kept", func(t *testing.T) {
		t.Parallel()
		_, err := b.Put(ctx, "in/over", "image/png", "", io.LimitReader(rand.NewChaCha8([32]byte{}), 6*media.MB), 5*media.MB, media.Expect{})
		if !errors.Is(err, media.ErrTooLarge) {
			t.Fatalf("Put = %v, want ErrTooLarge", err)
		}
		if _, _, err := b.Head(ctx, "in/over"); !errors.Is(err, media.ErrNotFound) {
			t.Errorf("Head after a refused put = %v, want ErrNotFound", err)
		}
	})
	t.Run("sha256 mismatch: refused, nothing kept", func(t *testing.T) {
		t.Parallel()
		other := sha256.Sum256([]byte("something else"))
		_, err := b.Put(ctx, "in/bad", "image/png", "", bytes.NewReader(body), media.MB, media.Expect{SHA256: hex.EncodeToString(other[:])})
		if !errors.Is(err, media.ErrChecksum) {
			t.Fatalf("Put = %v, want ErrChecksum", err)
		}
		if _, _, err := b.Head(ctx, "in/bad"); !errors.Is(err, media.ErrNotFound) {
			t.Errorf("Head after a mismatch = %v, want ErrNotFound", err)
		}
	})
	t.Run("size mismatch: refused", func(t *testing.T) {
		t.Parallel()
		_, err := b.Put(ctx, "in/short", "image/png", "", bytes.NewReader(body), media.MB, media.Expect{Size: int64(len(body)) + 1})
		if !errors.Is(err, media.ErrChecksum) {
			t.Fatalf("Put = %v, want ErrChecksum", err)
		}
	})
	t.Run("stored, read back through a URL with the served headers", func(t *testing.T) {
		t.Parallel()
		obj, err := b.Put(ctx, "in/ok.png", "image/png", "ok.png", bytes.NewReader(body), media.MB, media.Expect{SHA256: hex.EncodeToString(sum[:])})
		if err != nil {
			t.Fatal(err)
		}
		url, err := b.URL(ctx, obj.Key, "image/png", "ok.png", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		res, got := get(t, url)
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("GET: %d %q", res.StatusCode, got)
		}
		if d := res.Header.Get("Content-Disposition"); d != "inline; filename=ok.png" {
			t.Errorf("Content-Disposition = %q", d)
		}
	})
	t.Run("html is served as a download of opaque bytes", func(t *testing.T) {
		t.Parallel()
		page := []byte("<script>alert(1)</script>")
		if _, err := b.Put(ctx, "in/x.html", "text/html", "x.html", bytes.NewReader(page), media.MB, media.Expect{}); err != nil {
			t.Fatal(err)
		}
		url, err := b.URL(ctx, "in/x.html", "text/html", "x.html", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		res, got := get(t, url)
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, page) {
			t.Fatalf("GET: %d %q", res.StatusCode, got)
		}
		if d := res.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment") {
			t.Errorf("Content-Disposition = %q, want attachment", d)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type = %q, want application/octet-stream", ct)
		}
	})
	t.Run("a URL stops working after its expiry", func(t *testing.T) {
		t.Parallel()
		if _, err := b.Put(ctx, "in/short-lived", "image/png", "", bytes.NewReader(body), media.MB, media.Expect{}); err != nil {
			t.Fatal(err)
		}
		url, err := b.URL(ctx, "in/short-lived", "image/png", "", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, _ := get(t, url)
			if res.StatusCode == http.StatusForbidden {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("30 s after a 1 s expiry the URL answers %d, want 403", res.StatusCode)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("a URL never lives longer than five minutes", func(t *testing.T) {
		t.Parallel()
		url, err := b.URL(ctx, "in/any", "image/png", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(url, "X-Amz-Expires=300") {
			t.Errorf("URL %s, want X-Amz-Expires=300", url)
		}
	})
	t.Run("upload URL accepts only the declared type and size", func(t *testing.T) {
		t.Parallel()
		doc := []byte("%PDF-1.7 invoice")
		up, err := b.UploadURL(ctx, "up/doc", "application/pdf", int64(len(doc)), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		put := func(ctype string, body []byte) int {
			req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if code := put("text/html", doc); code != http.StatusForbidden {
			t.Errorf("PUT as text/html: %d, want 403", code)
		}
		if code := put("application/pdf", append(doc, '!')); code != http.StatusForbidden {
			t.Errorf("PUT of another size: %d, want 403", code)
		}
		if code := put(up.Headers.Get("Content-Type"), doc); code != http.StatusOK {
			t.Fatalf("PUT as declared: %d", code)
		}
		size, ctype, err := b.Head(ctx, "up/doc")
		if err != nil || size != int64(len(doc)) || ctype != "application/pdf" {
			t.Errorf("Head = %d %q %v", size, ctype, err)
		}
	})
}
