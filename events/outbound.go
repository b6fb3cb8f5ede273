package events

import "time"

// Send asks the send function to deliver one outbound message that the API stored as queued.
// It travels on the outbound FIFO queue, grouped by conversation so a conversation's messages
// leave in the order agents wrote them; the deduplication id is the message id.
type Send struct {
	OrgID          string `json:"org_id"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"` // Buzón's own id of the stored message
	// MessageAt is the message's place on its thread: with MessageID it is the message's key,
	// so the consumer reads the message directly instead of searching the thread.
	MessageAt time.Time `json:"message_at"`
	RequestID string    `json:"request_id,omitempty"`
}

// GroupID is the FIFO message group of a Send: its conversation.
func (s *Send) GroupID() string { return fifoID(s.OrgID + ":" + s.ConversationID) }

// DedupID is the FIFO deduplication id of a Send: its message.
func (s *Send) DedupID() string { return fifoID(s.MessageID) }
