package media

import "fmt"

// Where objects live in the bucket. Each prefix has one writer, and the stack grants puts
// under it to that function alone (shared/deploy's BucketWrites).
const (
	// InboundPrefix holds customers' attachments, written by the media function.
	InboundPrefix = "in/"
	// UploadPrefix holds agents' uploads, PUT by browsers through URLs the API presigns.
	UploadPrefix = "up/"
)

// InboundKey is where a customer's attachment is kept: the index-th of a message.
func InboundKey(org, conversation, message string, index int) string {
	return fmt.Sprintf("%s%s/%s/%s/%d", InboundPrefix, org, conversation, message, index)
}

// UploadKey is where an organization's upload is kept.
func UploadKey(org, id string) string { return UploadPrefix + org + "/" + id }
