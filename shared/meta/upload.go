package meta

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// writeUpload writes the Cloud API's upload form: messaging_product, type and the file.
func writeUpload(mw *multipart.Writer, contentType, filename string, body io.Reader) error {
	if err := mw.WriteField("messaging_product", "whatsapp"); err != nil {
		return err
	}
	if err := mw.WriteField("type", contentType); err != nil {
		return err
	}
	if filename == "" {
		filename = "file"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.NewReplacer("\r", "", "\n", "").Replace(filename)))
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, body); err != nil {
		return err
	}
	return mw.Close()
}
