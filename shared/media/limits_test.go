package media

import (
	"errors"
	"testing"

	"github.com/buzon/buzon/events"
)

func TestCheckSend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		provider events.Provider
		kind     string
		ctype    string
		size     int64
		want     error
		msg      string
	}{
		{"image within 5 MB", events.ProviderMeta, Image, "image/jpeg", 5 * MB, nil, ""},
		{"image over 5 MB", events.ProviderMeta, Image, "image/png", 5*MB + 1, ErrTooLarge, "WhatsApp (Cloud API) accepts image files up to 5 MB; this one is 5 MB (5242881 bytes)"},
		{"voice note with codec parameter", events.ProviderMeta, Audio, "audio/ogg; codecs=opus", 100 << 10, nil, ""},
		{"100 MB document", events.ProviderMeta, Document, "application/pdf", 100 * MB, nil, ""},
		{"document over 100 MB", events.ProviderMeta, Document, "application/pdf", 100*MB + 1, ErrTooLarge, "WhatsApp (Cloud API) accepts document files up to 100 MB; this one is 100 MB (104857601 bytes)"},
		{"twilio document over 16 MB", events.ProviderTwilio, Document, "application/pdf", 17 * MB, ErrTooLarge, "Twilio accepts document files up to 16 MB; this one is 17 MB (17825792 bytes)"},
		{"html as a document", events.ProviderMeta, Document, "text/html", 10, ErrType, ""},
		{"svg as an image", events.ProviderMeta, Image, "image/svg+xml", 10, ErrType, ""},
		{"sticker over 500 KB", events.ProviderMeta, Sticker, "image/webp", 501 << 10, ErrTooLarge, "WhatsApp (Cloud API) accepts sticker files up to 500 KB; this one is 501 KB (513024 bytes)"},
		{"unknown kind", events.ProviderMeta, "hologram", "image/png", 10, ErrKind, `media kind "hologram" is not one of image, audio, video, document, sticker`},
		{"negative size", events.ProviderMeta, Image, "image/png", -1, ErrTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckSend(tc.provider, tc.kind, tc.ctype, tc.size)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckSend = %v, want %v", err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message = %q, want %q", err.Error(), tc.msg)
			}
		})
	}
}

func TestKindOfAndMaxReceive(t *testing.T) {
	t.Parallel()
	for ctype, want := range map[string]string{
		"image/jpeg": Image, "image/webp": Sticker, "audio/ogg; codecs=opus": Audio, "video/mp4": Video,
		"application/pdf": Document, "application/zip": Document, "": Document,
	} {
		if got := KindOf(ctype); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", ctype, got, want)
		}
	}
	if got := MaxReceive(events.ProviderMeta, "unknown"); got != 100*MB {
		t.Errorf("MaxReceive(unknown) = %d, want a document's 100 MB", got)
	}
	if got := MaxReceive(events.ProviderTwilio, Image); got != 5*MB {
		t.Errorf("MaxReceive(twilio image) = %d", got)
	}
}

func TestDisposition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ctype, name, disposition, served string }{
		{"image/jpeg", "photo.jpg", `inline; filename=photo.jpg`, "image/jpeg"},
		{"audio/ogg; codecs=opus", "", "inline", "audio/ogg"},
		{"video/mp4", "", "inline", "video/mp4"},
		{"text/html", "page.html", `attachment; filename=page.html`, "application/octet-stream"},
		{"image/svg+xml", "logo.svg", `attachment; filename=logo.svg`, "application/octet-stream"},
		{"application/xml", "", "attachment", "application/octet-stream"},
		{"text/xml", "", "attachment", "application/octet-stream"},
		{"application/pdf", "factura 12.pdf", `attachment; filename="factura 12.pdf"`, "application/octet-stream"},
		{"", "x", `attachment; filename=x`, "application/octet-stream"},
		{"application/x-unknown", "../../etc/passwd", `attachment; filename=passwd`, "application/octet-stream"},
		{"application/pdf", "año.pdf", `attachment; filename*=utf-8''a%C3%B1o.pdf`, "application/octet-stream"},
		{"image/png", `C:\fotos\a.png`, `inline; filename=a.png`, "image/png"},
	} {
		if got := Disposition(tc.ctype, tc.name); got != tc.disposition {
			t.Errorf("Disposition(%q, %q) = %q, want %q", tc.ctype, tc.name, got, tc.disposition)
		}
		if got := ServedType(tc.ctype); got != tc.served {
			t.Errorf("ServedType(%q) = %q, want %q", tc.ctype, got, tc.served)
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{312: "312 bytes", 500 << 10: "500 KB", 5 * MB: "5 MB", 3 * MB / 2: "1.5 MB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
