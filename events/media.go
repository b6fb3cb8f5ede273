package events

import "strconv"

// MediaJob asks the media function to keep one attachment of a stored customer message in
// the bucket. It travels on the media FIFO queue, one job per attachment: its own group, so a
// slow download holds nothing else up, and the deduplication id of the message and index.
type MediaJob struct {
	Provider       Provider `json:"provider"`
	OrgID          string   `json:"org_id"`
	ConversationID string   `json:"conversation_id"`
	MessageID      string   `json:"message_id"` // Buzón's id of the stored message
	// MessageSK is the message's place on its thread (store.MessageKey.SK), so the consumer
	// writes the message's media without searching the thread.
	MessageSK string `json:"message_sk"`
	Index     int    `json:"index"` // 0: Message.Media; i > 0: Message.MoreMedia[i-1]
	Kind      string `json:"kind"`  // image, audio, video, document, sticker
	// Account is the Twilio account SID whose basic auth fetches the attachment. What to fetch
	// (media id or URL) is read from the stored message, which holds the attachment.
	Account   string `json:"account,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// GroupID is the FIFO message group of a MediaJob: the attachment itself.
func (j *MediaJob) GroupID() string { return fifoID(j.MessageID + ":" + strconv.Itoa(j.Index)) }

// DedupID is the FIFO deduplication id of a MediaJob: its message and index.
func (j *MediaJob) DedupID() string { return fifoID(j.MessageID + ":" + strconv.Itoa(j.Index)) }
