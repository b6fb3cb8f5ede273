package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// keys.go is the only place keys are built. The key design, entity by entity, is in
// docs/keys.md; the hot-key rules it follows are:
//   - nothing written per inbound message lands on a partition shared by a whole line, org or
//     department, except index partitions split into queueShards;
//   - a conversation's messages live in the conversation's own partition.

// queueShards splits each department queue (GSI1) and each window bucket (GSI4) so that one
// line at 1,000 messages/s puts at most ~2×1000/8 = 250 index writes per second on any
// partition.
const queueShards = 8

// windowBucket is the granularity of the window-expiry index: a conversation moves to another
// bucket at most once per 10 minutes however many messages arrive.
const windowBucket = 10 * time.Minute

func orgPK(org string) string { return "ORG#" + org }
func userSK(id string) string { return "USER#" + id }
func deptSK(id string) string { return "DEPT#" + id }
func lineSK(id string) string { return "LINE#" + id }

// reasonsSK is a list of closing reasons: the organization's ("REASONS#") or a department's.
func reasonsSK(dept string) string    { return "REASONS#" + dept }
func convPK(id string) string         { return "CONV#" + id }
func contactPK(org, wa string) string { return "CONTACT#" + org + "#" + wa }
func emailKey(email string) string    { return "EMAIL#" + strings.ToLower(email) }

// lineAddrPK finds a line from the provider's routing key, which is all a webhook knows.
func lineAddrPK(provider, address string) string { return "ADDR#" + provider + "#" + address }

// idempotencyPK is one user's Idempotency-Key: keys are per user, so two agents' clients that
// pick the same key never collide, and each key is its own partition.
func idempotencyPK(org, user, key string) string { return "IDEM#" + org + "#" + user + "#" + key }

const skIdempotency = "IDEM"

const (
	skOrg          = "ORG"
	skConversation = "CONV"
	skContact      = "CONTACT"
	skAddr         = "ADDR"
	skThread       = "M#" // messages and events share the prefix: one Query reads the timeline
)

// threadSK orders a conversation's timeline by time, then id.
func threadSK(at time.Time, id string) string {
	return fmt.Sprintf("M#%013d#%s", at.UnixMilli(), id)
}

// IsThreadCursor reports whether cursor, a page cursor of Thread, is a sort key of a
// conversation's timeline, so that the API can refuse a cursor it never handed out without
// knowing the key design.
func IsThreadCursor(cursor string) bool { return strings.HasPrefix(cursor, skThread) }

// pointerSK maps a provider message id to the thread item it belongs to (outbound messages,
// and inbound ones whose provider sends no timestamp).
func pointerSK(providerID string) string { return "P#" + providerID }

// parkedSK holds a status that arrived before its message was known; a message's parked
// statuses share parkedPrefix.
func parkedSK(providerID, status string) string { return parkedPrefix(providerID) + status }

func parkedPrefix(providerID string) string { return "PARK#" + providerID + "#" }

// Time is the timeline position of the key's item (threadSK's time).
func (k MessageKey) Time() time.Time {
	parts := strings.SplitN(k.SK, "#", 3)
	if len(parts) < 2 {
		return time.Time{}
	}
	v, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return fromMS(v)
}

// unroutedPK keeps the items addressed to a business number no line claims, spread over
// queueShards partitions per address by the item's id.
func unroutedPK(provider, address, id string) string {
	return fmt.Sprintf("UNROUTED#%s#%s#%02d", provider, address, shardOf(id))
}

// providerEventPK keeps an account's provider events Buzón has no entity for.
func providerEventPK(provider, account string) string { return "PEVT#" + provider + "#" + account }

// providerEventSK is a provider event's place in its partition: a hash of its id, so a
// provider's retry lands on the same item.
func providerEventSK(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// activitySK sorts conversations newest activity first (queries run backwards).
func activitySK(at time.Time, convID string) string {
	return fmt.Sprintf("%013d#%s", at.UnixMilli(), convID)
}

// queuePK is GSI1: a department's conversations by status and assignment, split in shards.
// dept "" is the "no route" queue.
func queuePK(org, dept, status string, assigned bool, shard int) string {
	if dept == "" {
		dept = "-"
	}
	a := "u"
	if assigned {
		a = "a"
	}
	return fmt.Sprintf("Q#%s#%s#%s#%s#%02d", org, dept, status, a, shard)
}

// assigneePK is GSI2: one agent's conversations by status (bounded by what a person handles).
func assigneePK(org, user, status string) string { return "U#" + org + "#" + user + "#" + status }

// windowPK is GSI4: open conversations by the 10-minute bucket their window closes in.
func windowPK(expires time.Time, shard int) string {
	return fmt.Sprintf("W#%s#%02d", expires.UTC().Truncate(windowBucket).Format("200601021504"), shard)
}

// pendingSendPK is GSI4 too: outbound messages not sent yet (queued or sending), by the
// 10-minute bucket they were written in, split like the window buckets. The entry goes as the
// message is sent or failed; the window job reads old buckets to resolve the messages whose
// send record was lost, without a Scan.
func pendingSendPK(written time.Time, shard int) string {
	return fmt.Sprintf("S#%s#%02d", written.UTC().Truncate(windowBucket).Format("200601021504"), shard)
}

// pendingSendSK names the message of a pending-send entry: its conversation and thread key.
func pendingSendSK(k MessageKey) string { return k.ConversationID + "|" + k.SK }

// jobPK is a scheduled job's own item (its checkpoint), written at most once per run.
func jobPK(name string) string { return "JOB#" + name }

const skJob = "JOB"

// autoClosePK lists the lines whose idle conversations close by themselves (R4): one small
// partition that the window job reads whole once per run, written only when an admin changes
// the setting.
const autoClosePK = "AUTOCLOSE"

func autoCloseSK(org, line string) string { return org + "#" + line }

// autoReplySK marks that the auto-reply of trigger was decided in the conversation's window
// that opened at opened: one item per trigger and window, so it is sent once. A window's marks
// share a prefix, read in one Query.
func autoReplySK(opened time.Time, trigger string) string { return autoReplyPrefix(opened) + trigger }

func autoReplyPrefix(opened time.Time) string {
	return fmt.Sprintf("AUTO#%013d#", max(opened.UnixMilli(), 0))
}

// shardOf spreads conversations over queueShards.
func shardOf(convID string) int {
	h := fnv.New32a()
	h.Write([]byte(convID))
	return int(h.Sum32() % queueShards)
}

// skEmailUser is the GSI3 sort key of a user's sign-in entry (its GSI3PK is emailKey).
const skEmailUser = "USER"

// quickReplySK is one quick reply in its organization's partition.
func quickReplySK(id string) string { return id }

// workloadUser is the user of a workload item's partition key of org.
func workloadUser(org, pk string) string { return strings.TrimPrefix(pk, workloadPK(org, "")) }

// labelSK is one of an organization's labels, in the organization's partition.
func labelSK(id string) string { return skLabelPrefix + id }

const skLabelPrefix = "LABEL#"

// readSK is one user's read marker of a conversation: the conversation's inbound count they
// have seen. It lives in the conversation's partition, written when that user reads it.
func readSK(user string) string { return "READ#" + user }

// searchShards splits each organization's contact search partition (GSI3). Search items are
// written when a contact is created or renamed, at most 4 per contact; if each of 1,000
// messages of a line came from a new contact, 4,000 items over 16 shards put ~250 writes on
// each, under the hot-key budget. A search reads the 16 shards in parallel.
const searchShards = 16

// searchSK is a search item in its contact's partition: "CS#n:<word>" for a word of the
// name, "CS#p:<digits>" for the number, so a contact's items are found without an index.
func searchSK(term string) string { return skSearchPrefix + term }

const skSearchPrefix = "CS#"

func nameTerm(word string) string    { return "n:" + word }
func phoneTerm(digits string) string { return "p:" + digits }
func emailTerm(email string) string  { return "e:" + email }
func fieldTerm(term string) string   { return "f:" + term }
func ownerTerm(user string) string   { return "o:" + user }

// searchPK is GSI3: one shard of an organization's contact search. The shard derives from the
// term and the contact, so one contact's items spread too.
func searchPK(org, term, waID string) string {
	return searchShardPK(org, shardOfN(term+"#"+waID, searchShards))
}

func searchShardPK(org string, shard int) string { return fmt.Sprintf("CS#%s#%02d", org, shard) }

// searchIndexSK sorts a shard's items by term, so a prefix of the term is a key range.
func searchIndexSK(term, waID string) string { return term + "#" + waID }

// shardOfN spreads s over n shards. FNV-1a's low bits depend only on the low bits of each
// byte, which spreads numbers that share a prefix poorly; the 64-bit hash is mixed
// (Fibonacci hashing) and its high bits taken.
func shardOfN(s string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int(((h.Sum64() * 0x9E3779B97F4A7C15) >> 32) % uint64(n))
}

// templatePK is an organization's copy of its message templates, apart from the organization's
// partition (read whole by OrgItems): a WABA may hold thousands of templates.
func templatePK(org string) string { return "TPL#" + org }

// templateSK is one template of one WABA of the organization: a line's templates are a prefix.
func templateSK(waba, name, language string) string {
	return templateWABAPrefix(waba) + name + "#" + language
}

func templateWABAPrefix(waba string) string { return skTemplatePrefix + waba + "#" }

const (
	skTemplatePrefix = "T#"
	skTemplateSync   = "SYNC" // the last "sync now" of the organization, in templatePK
)

// wabaRegistryPK lists every (WABA, organization) pair, written when a Meta line is put: the
// scheduled template sync reads it instead of scanning the table, and a template status
// webhook, which names only the WABA, finds its organizations by the SK prefix.
const wabaRegistryPK = "WABAS"

func wabaRegistrySK(waba, org string) string { return waba + "#" + org }

// quickReplyPK holds an organization's quick replies (M5), apart from the organization's
// partition for the same reason as templates.
func quickReplyPK(org string) string { return "QR#" + org }

// workloadPK is one agent's workload item (open conversations, availability, capacity): its own
// partition, written when the agent's assignments change (never per message), so agents
// assigned at once do not contend on a shared key.
func workloadPK(org, user string) string { return "LOAD#" + org + "#" + user }

const skWorkload = "LOAD"

// skLastAgent is the item in a contact's partition that names the agent who last held one of
// its conversations (the last_agent rule).
const skLastAgent = "LAST"

// rulesSK is the assignment rule list of a line or a department (scope "line" or "dept"), in
// the organization's partition.
func rulesSK(scope, id string) string { return "RULES#" + scope + "#" + id }

// waitPK is GSI5: a department's open, unassigned conversations, split in shards, sorted by
// waitSK, so the oldest waiting is read first. Only waiting conversations have the keys.
func waitPK(org, dept string, shard int) string {
	return fmt.Sprintf("WAIT#%s#%s#%02d", org, dept, shard)
}

// waitSK orders a department's waiting conversations by the time they started waiting: the
// last activity when they entered the shared inbox, kept while they wait (a customer who
// writes again keeps their place).
func waitSK(since time.Time, convID string) string { return activitySK(since, convID) }

// waitingConversation is the conversation id of a waitSK.
func waitingConversation(sk string) string { return sk[len("0000000000000#"):] }

// collabPK lists the conversations one user collaborates on (A7): the "collaborating" view
// reads it whole; it is written when a collaboration starts or ends, never per message.
func collabPK(org, user string) string { return "COLLAB#" + org + "#" + user }

// collabSK is one collaboration in its user's partition.
func collabSK(convID string) string { return convID }

// auditPK is one day of an organization's audit records (P2): written per action, never per
// message; read by day from the newest.
func auditPK(org string, at time.Time) string {
	return "AUDIT#" + org + "#" + at.UTC().Format("20060102")
}

// auditSK orders a day's records by time, then id; GSI2 and GSI3 use it too.
func auditSK(at time.Time, id string) string {
	return fmt.Sprintf("%013d#%s", max(at.UnixMilli(), 0), id)
}

// auditCursorTime is the time of an audit sort key.
func auditCursorTime(sk string) (time.Time, bool) {
	if len(sk) < 13 {
		return time.Time{}, false
	}
	v, err := strconv.ParseInt(sk[:13], 10, 64)
	return time.UnixMilli(v).UTC(), err == nil
}

// auditActorPK is GSI2: one actor's audit records ("" is Buzón itself).
func auditActorPK(org, actor string) string { return "AU#" + org + "#" + actor }

// auditEntityPK is GSI3: one entity's audit records.
func auditEntityPK(org, entity, id string) string { return "AE#" + org + "#" + entity + "#" + id }

// entityOf names the kind of item a key addresses, for the "not found" of a read.
func entityOf(pk, sk string) string {
	for _, p := range []struct{ prefix, entity string }{
		{"USER#", "user"}, {"DEPT#", "department"}, {"LINE#", "line"}, {"LABEL#", "label"},
		{skThread, "message"}, {"P#", "message"}, {skTemplatePrefix, "template"},
	} {
		if strings.HasPrefix(sk, p.prefix) {
			return p.entity
		}
	}
	for _, p := range []struct{ prefix, entity string }{
		{"CONV#", "conversation"}, {"CONTACT#", "contact"}, {"QR#", "quick reply"}, {"ADDR#", "line"},
		{"ORG#", "organization"}, {"IDEM#", "idempotency key"}, {"TPL#", "template sync"},
	} {
		if strings.HasPrefix(pk, p.prefix) {
			return p.entity
		}
	}
	return "item"
}

// Realtime connections (WebSocket) live in small partitions of their own, never in the
// organization's: one user's (wsUserPK, which holds the connection's full item), one
// department's (wsDeptPK) and the organization's admins' (wsAdminPK), so the audience of a
// conversation is at most three Queries, each as large as the people connected there. Items
// expire (TTL) when API Gateway closes a connection at the latest.
func wsUserPK(org, user string) string { return "WS#" + org + "#U#" + user }
func wsDeptPK(org, dept string) string { return "WS#" + org + "#D#" + dept }
func wsAdminPK(org string) string      { return "WS#" + org + "#A" }
