package events

// Send asks the send function to deliver one outbound message that the API stored as queued.
// It travels on the outbound FIFO queue, grouped by conversation so a conversation's messages
// leave in the order agents wrote them; the deduplication id is the message id.
type Send struct {
	OrgID          string `json:"org_id"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"` // Buzón's own id of the stored message
	RequestID      string `json:"request_id,omitempty"`
}

// GroupID is the FIFO message group of a Send: its conversation.
func (s *Send) GroupID() string { return fifoID(s.OrgID + ":" + s.ConversationID) }

// DedupID is the FIFO deduplication id of a Send: its message.
func (s *Send) DedupID() string { return fifoID(s.MessageID) }
