package apijson

import (
	"encoding/json"

	"github.com/buzon/buzon/shared/inbox"
)

// What customers send besides text and media, as the API returns it: not flattened into the
// message's text, so a client can show a contact card, act on a button's id or an order's
// items, and point a reaction at its message.

// Reply is the customer's tap on a button or a list row: what the business put in it.
type Reply struct {
	Kind        string `json:"kind"` // button_reply, list_reply, nfm_reply, button
	ID          string `json:"id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

// Card is one shared contact card (Contact is a conversation's contact).
type Card struct {
	Name   CardName    `json:"name"`
	Phones []CardPhone `json:"phones,omitempty"`
	Emails []CardEmail `json:"emails,omitempty"`
	Org    *CardOrg    `json:"org,omitempty"`
}

type CardName struct {
	FormattedName string `json:"formatted_name,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
}

type CardPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

type CardEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

type CardOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// Order is a cart the customer sent from the catalog.
type Order struct {
	CatalogID string      `json:"catalog_id,omitempty"`
	Text      string      `json:"text,omitempty"`
	Items     []OrderItem `json:"items"`
}

type OrderItem struct {
	ProductRetailerID string  `json:"product_retailer_id"`
	Quantity          int     `json:"quantity"`
	ItemPrice         float64 `json:"item_price"`
	Currency          string  `json:"currency,omitempty"`
}

// Reaction is a customer's reaction: the message it is on (its provider id) and the emoji,
// empty when the reaction was removed.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// withContent adds to e what the customer's message carries besides text and media. Contact
// cards, orders and reactions are read from the provider's own item, kept with the message
// (Cloud API JSON); a Twilio message's contact card arrives as a vCard attachment instead.
func withContent(m *inbox.Message, e *Entry) {
	if r := m.Reply; r != nil {
		e.Reply = &Reply{Kind: r.Kind, ID: r.ID, Title: r.Title, Description: r.Description, Payload: r.Payload}
	}
	if m.Direction != inbox.Inbound || len(m.Detail) == 0 || m.Detail[0] != '{' {
		return
	}
	switch m.Type {
	case "contacts", "order", "reaction":
	default:
		return
	}
	var w struct {
		Contacts []Card `json:"contacts"`
		Order    *struct {
			CatalogID    string      `json:"catalog_id"`
			Text         string      `json:"text"`
			ProductItems []OrderItem `json:"product_items"`
		} `json:"order"`
		Reaction *Reaction `json:"reaction"`
	}
	if err := json.Unmarshal(m.Detail, &w); err != nil {
		return // kept as received; the text describes it
	}
	e.Contacts = w.Contacts
	if w.Order != nil {
		e.Order = &Order{CatalogID: w.Order.CatalogID, Text: w.Order.Text, Items: w.Order.ProductItems}
	}
	e.Reaction = w.Reaction
}
