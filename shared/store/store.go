// Package store keeps Buzón's data in one DynamoDB table (single-table design, docs/keys.md).
// It converts between the domain types of package inbox and table items; keys are built in
// keys.go only. Idempotent inserts use attribute_not_exists; read-modify-write goes through an
// update function and a conditional write on a version.
package store

import (
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrConflict = errors.New("store: concurrent update, try again")
)

// NotFoundError is ErrNotFound for one kind of item, so that whoever answers can say what is
// missing ("line not found"); errors.Is(err, ErrNotFound) holds for every one.
type NotFoundError struct {
	Entity string // "conversation", "line", "quick reply", …
}

func (e *NotFoundError) Error() string { return "store: " + e.Entity + " not found" }

// Is makes every NotFoundError an ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

func notFound(entity string) error { return &NotFoundError{Entity: entity} }

// Store is the table. It is safe for concurrent use.
type Store struct {
	db     *dynamodb.Client
	table  string
	writes *WriteCounter
}

// New returns a store over table. writes may be nil; when set, every write is counted per
// partition key (table and each index) so hot keys can be shown.
func New(db *dynamodb.Client, table string, writes *WriteCounter) *Store {
	return &Store{db: db, table: table, writes: writes}
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// WriteCounter counts writes per partition key of the table and its indexes, and the write
// units DynamoDB reports as consumed. It is safe for concurrent use.
type WriteCounter struct {
	mu    sync.Mutex
	keys  map[string]int
	units float64
	ops   int
}

// NewWriteCounter returns an empty counter.
func NewWriteCounter() *WriteCounter { return &WriteCounter{keys: map[string]int{}} }

// KeyCount is the number of writes one partition key received.
type KeyCount struct {
	Index string // "table" or the index name
	Key   string
	N     int
}

// Top returns the n most written partition keys of each index and of the table, most first.
func (w *WriteCounter) Top(n int) []KeyCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	byIndex := map[string][]KeyCount{}
	for k, c := range w.keys {
		idx, key, _ := strings.Cut(k, "|")
		byIndex[idx] = append(byIndex[idx], KeyCount{Index: idx, Key: key, N: c})
	}
	var out []KeyCount
	names := make([]string, 0, len(byIndex))
	for idx := range byIndex {
		names = append(names, idx)
	}
	sort.Strings(names)
	for _, idx := range names {
		l := byIndex[idx]
		sort.Slice(l, func(i, j int) bool { return l[i].N > l[j].N || (l[i].N == l[j].N && l[i].Key < l[j].Key) })
		if len(l) > n {
			l = l[:n]
		}
		out = append(out, l...)
	}
	return out
}

// Units is the write capacity consumed and the number of write calls made.
func (w *WriteCounter) Units() (units float64, calls int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.units, w.ops
}

// Reset forgets every count.
func (w *WriteCounter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keys = map[string]int{}
	w.units, w.ops = 0, 0
}

// indexKeys are an item's partition keys per index, for counting.
type indexKeys struct {
	PK, GSI1, GSI2, GSI3, GSI4, GSI5 string
	waitSK                           string // GSI5SK: a conversation that stays waiting keeps its place
}

// count records one write of an item that had the keys old and now has now. An index entry
// whose key changed costs a delete and a put; one whose key stayed costs one write, except on
// the keys-only GSI4, which an unchanged key leaves alone.
func (s *Store) count(old, now indexKeys, cc *types.ConsumedCapacity) {
	w := s.writes
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ops++
	if cc != nil && cc.CapacityUnits != nil {
		w.units += *cc.CapacityUnits
	}
	if now.PK != "" {
		w.keys["table|"+now.PK]++
	}
	for _, ix := range []struct {
		name     string
		old, now string
		keysOnly bool
	}{{"GSI1", old.GSI1, now.GSI1, false}, {"GSI2", old.GSI2, now.GSI2, false}, {"GSI3", old.GSI3, now.GSI3, false}, {"GSI4", old.GSI4, now.GSI4, true}, {"GSI5", old.GSI5, now.GSI5, true}} {
		switch {
		case ix.old == ix.now && ix.now != "":
			if !ix.keysOnly {
				w.keys[ix.name+"|"+ix.now]++
			}
		default:
			if ix.old != "" {
				w.keys[ix.name+"|"+ix.old]++
			}
			if ix.now != "" {
				w.keys[ix.name+"|"+ix.now]++
			}
		}
	}
}
