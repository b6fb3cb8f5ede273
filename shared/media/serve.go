package media

import (
	"mime"
	"path"
	"strings"
)

// inline are the types a browser only displays: raster images, sound and video. A browser
// runs or interprets everything else (HTML, SVG and XML carry scripts; PDF has its own; an
// unknown type may be sniffed into one of them), so it is served as a download.
var inline = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
}

// Inline reports whether a file of this content type may be shown in the browser rather than
// downloaded.
func Inline(contentType string) bool {
	t := BaseType(contentType)
	if inline[t] {
		return true
	}
	major, _, _ := strings.Cut(t, "/")
	return major == "audio" || major == "video"
}

// Disposition is the Content-Disposition a stored file is served with: inline for what
// Inline allows, attachment for everything else, with the file name (non-ASCII names in the
// RFC 2231 form browsers read). The name is reduced to its last path element.
func Disposition(contentType, filename string) string {
	kind := "attachment"
	if Inline(contentType) {
		kind = "inline"
	}
	name := strings.TrimSpace(path.Base(strings.ReplaceAll(filename, `\`, "/")))
	if name == "" || name == "." || name == "/" {
		return kind
	}
	if d := mime.FormatMediaType(kind, map[string]string{"filename": name}); d != "" {
		return d
	}
	return kind
}

// ServedType is the Content-Type a stored file is served with: its own when the browser may
// show it inline, otherwise application/octet-stream, so that not even a browser that ignores
// the disposition interprets it. S3 cannot add X-Content-Type-Options: nosniff to a presigned
// GET; this is what stands in for it (and the files are served from the bucket's own origin,
// never the console's, so a script in one could not reach an agent's session).
func ServedType(contentType string) string {
	if Inline(contentType) {
		return BaseType(contentType)
	}
	return "application/octet-stream"
}
