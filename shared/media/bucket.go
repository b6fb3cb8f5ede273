package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PartSize is what a streamed upload holds in memory per part (S3's smallest multipart
// part). With one part in flight and the next being read, a download of any size holds about
// two parts: the 100 MB document test asserts the bound.
const PartSize = manager.MinUploadPartSize

// MaxURLTTL is the longest a read URL handed to a browser lives.
const MaxURLTTL = 5 * time.Minute

// ErrChecksum reports a file whose bytes are not what the provider announced (size or
// sha256): a download cut short or corrupted. Nothing is kept.
var ErrChecksum = errors.New("media: the file does not match the provider's size or sha256")

// Bucket is the S3 bucket that keeps attachments. Safe for concurrent use.
type Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	up      *manager.Uploader
	name    string
}

// NewBucket returns the bucket name reached through client.
func NewBucket(client *s3.Client, name string) *Bucket {
	return &Bucket{
		client:  client,
		presign: s3.NewPresignClient(client),
		up: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = PartSize
			u.Concurrency = 1
		}),
		name: name,
	}
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Object is a stored file as its bytes were counted and hashed on the way in.
type Object struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// Expect is what the provider announced about a file; a zero field is not checked.
type Expect struct {
	Size   int64
	SHA256 string // hex (Meta); base64 is accepted too
}

// Put streams body into key, counting and hashing it on the way, and refuses more than max
// bytes (a *LimitError wrapping ErrTooLarge; nothing is kept). The object is stored with its
// content type and the disposition it is served with. When the bytes do not match want, the
// object is deleted and ErrChecksum returned.
func (b *Bucket) Put(ctx context.Context, key, contentType, filename string, body io.Reader, max int64, want Expect) (Object, error) {
	r := &meter{r: body, h: sha256.New(), max: max}
	_, err := b.up.Upload(ctx, &s3.PutObjectInput{
		Bucket:             aws.String(b.name),
		Key:                aws.String(key),
		Body:               r,
		ContentType:        aws.String(contentType),
		ContentDisposition: aws.String(Disposition(contentType, filename)),
	})
	if r.over {
		return Object{}, &LimitError{Err: ErrTooLarge, Kind: KindOf(contentType), Type: contentType, Size: r.n, Limit: Limit{MaxBytes: max}}
	}
	if err != nil {
		return Object{}, fmt.Errorf("media: put %s: %w", key, err)
	}
	obj := Object{Key: key, Size: r.n, SHA256: hex.EncodeToString(r.h.Sum(nil))}
	if (want.Size > 0 && want.Size != obj.Size) || (want.SHA256 != "" && !sameDigest(want.SHA256, r.h.Sum(nil))) {
		_ = b.Delete(ctx, key)
		return obj, fmt.Errorf("%w: got %d bytes, sha256 %s; announced %d bytes, sha256 %s", ErrChecksum, obj.Size, obj.SHA256, want.Size, want.SHA256)
	}
	return obj, nil
}

// Delete removes key (a missing key is no error).
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

// URL returns a presigned GET of key valid for ttl (at most MaxURLTTL), served with the
// type and disposition ServedType and Disposition give. Signing makes no request.
func (b *Bucket) URL(ctx context.Context, key, contentType, filename string, ttl time.Duration) (string, error) {
	ttl = min(ttl, MaxURLTTL)
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(b.name),
		Key:                        aws.String(key),
		ResponseContentType:        aws.String(ServedType(contentType)),
		ResponseContentDisposition: aws.String(Disposition(contentType, filename)),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("media: presign get %s: %w", key, err)
	}
	return req.URL, nil
}

// FetchURL returns a presigned GET of key valid for ttl, for a provider to fetch a file we
// send (Twilio): the stored content type, no override. ttl is not capped: the provider may
// queue the send for a while.
func (b *Bucket) FetchURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("media: presign get %s: %w", key, err)
	}
	return req.URL, nil
}

// Upload is a presigned PUT: the client sends exactly these headers and size bytes.
type Upload struct {
	URL     string
	Method  string
	Headers http.Header
}

// UploadURL returns a presigned PUT of key valid for ttl that accepts only contentType and
// exactly size bytes.
func (b *Bucket) UploadURL(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (Upload, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.name), Key: aws.String(key),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(size),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return Upload{}, fmt.Errorf("media: presign put %s: %w", key, err)
	}
	h := http.Header{"Content-Type": {contentType}}
	return Upload{URL: req.URL, Method: req.Method, Headers: h}, nil
}

// Head returns the size and content type of a stored object; a missing one is ErrNotFound.
func (b *Bucket) Head(ctx context.Context, key string) (size int64, contentType string, err error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return 0, "", ErrNotFound
		}
		return 0, "", fmt.Errorf("media: head %s: %w", key, err)
	}
	return aws.ToInt64(out.ContentLength), aws.ToString(out.ContentType), nil
}

// Open streams a stored object; the caller closes it. A missing one is ErrNotFound.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	// The caller hashes what it reads when it needs to; the SDK has no checksum of a multipart
	// object to validate and would log so on every read.
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("media: get %s: %w", key, err)
	}
	return out.Body, nil
}

// ErrNotFound reports a key the bucket does not hold.
var ErrNotFound = errors.New("media: no such object")

// meter counts and hashes what is read through it and fails once more than max bytes came.
type meter struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	max  int64
	over bool
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.h.Write(p[:n])
	m.n += int64(n)
	if m.max > 0 && m.n > m.max {
		m.over = true
		return n, ErrTooLarge
	}
	return n, err
}

// sameDigest compares an announced sha256 (hex, or base64 as some providers write it) with
// a computed one.
func sameDigest(announced string, sum []byte) bool {
	announced = strings.TrimSpace(announced)
	if strings.EqualFold(announced, hex.EncodeToString(sum)) {
		return true
	}
	return base64Equal(announced, sum)
}

func base64Equal(s string, sum []byte) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && bytes.Equal(b, sum) {
			return true
		}
	}
	return false
}
