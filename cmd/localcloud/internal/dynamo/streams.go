package dynamo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// Record is one DynamoDB Streams record, in the JSON shape Lambda delivers
// (aws-lambda-go's events.DynamoDBEventRecord). Attribute values are kept as
// the local DynamoDB answered them, so their types are exactly those a
// GetItem returns.
type Record struct {
	EventID        string       `json:"eventID"`
	EventName      string       `json:"eventName"` // INSERT, MODIFY or REMOVE
	EventVersion   string       `json:"eventVersion"`
	EventSource    string       `json:"eventSource"`
	AWSRegion      string       `json:"awsRegion"`
	DynamoDB       StreamRecord `json:"dynamodb"`
	EventSourceARN string       `json:"eventSourceARN"`
	// at is when the record was written, to the nanosecond (the JSON has
	// whole seconds), so that record ages are exact at any time scale.
	at time.Time
}

// StreamRecord is a Record's "dynamodb" member.
type StreamRecord struct {
	// ApproximateCreationDateTime is in epoch seconds, rounded down.
	ApproximateCreationDateTime int64                      `json:"ApproximateCreationDateTime"`
	Keys                        map[string]json.RawMessage `json:"Keys"`
	NewImage                    map[string]json.RawMessage `json:"NewImage,omitempty"`
	OldImage                    map[string]json.RawMessage `json:"OldImage,omitempty"`
	// SequenceNumber is a decimal string; see Seq.
	SequenceNumber string `json:"SequenceNumber"`
	SizeBytes      int64  `json:"SizeBytes"`
	StreamViewType string `json:"StreamViewType"`
}

// Created is when the record was written (to the second when the record
// was not made by Streams).
func (r Record) Created() time.Time {
	if !r.at.IsZero() {
		return r.at
	}
	return time.Unix(r.DynamoDB.ApproximateCreationDateTime, 0)
}

// seqWidth is the number of digits of a local sequence number: fixed, so that
// their string order is their numeric order, and at least 21 as DynamoDB's.
const seqWidth = 21

// FormatSeq is the SequenceNumber of the n-th record (n ≥ 1).
func FormatSeq(n uint64) string { return fmt.Sprintf("1%0*d", seqWidth-1, n) }

// SeqLess tells whether sequence number a comes before b. Sequence numbers
// are decimal strings without leading zeros, of any length.
func SeqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Retention limits of a local stream: DynamoDB keeps a stream's records
// for 24 hours; the local one also keeps at most MaxStreamRecords, so a
// long-running local cloud's memory stays bounded.
const (
	StreamRetention  = 24 * time.Hour
	MaxStreamRecords = 100_000
)

// Streams keeps the stream records of the tables that have a stream
// (StreamSpecification.StreamEnabled at CreateTable), one shard each, in
// memory. Records are in write order: the order of the writes to one item
// is kept, as DynamoDB Streams guarantees.
type Streams struct {
	mu      sync.Mutex
	now     func() time.Time
	byTable map[string]*stream
	byARN   map[string]*stream
	seq     uint64
	changed chan struct{}
}

type stream struct {
	arn, table, viewType string
	keyNames             []string
	records              []Record
}

// NewStreams returns an empty Streams.
func NewStreams() *Streams {
	return &Streams{now: time.Now, byTable: map[string]*stream{}, byARN: map[string]*stream{}, changed: make(chan struct{})}
}

// enable starts the stream of a table (at CreateTable); keyNames are its key
// attributes. A table created again gets a new, empty stream.
func (s *Streams) enable(table, viewType string, keyNames []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &stream{arn: samtemplate.StreamARN(table), table: table, viewType: viewType, keyNames: keyNames}
	s.byTable[table] = st
	s.byARN[st.arn] = st
}

// disable forgets a deleted table's stream.
func (s *Streams) disable(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.byTable[table]; ok {
		delete(s.byTable, table)
		delete(s.byARN, st.arn)
	}
}

// table returns a table's stream settings, if it has a stream.
func (s *Streams) table(name string) (viewType string, keyNames []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byTable[name]
	if !ok {
		return "", nil, false
	}
	return st.viewType, st.keyNames, true
}

// change is one item's change, before it becomes a Record.
type change struct {
	table    string
	old, new map[string]json.RawMessage // nil: no item
}

// append turns changes into records (numbered in order) and wakes the readers.
func (s *Streams) append(changes []change) {
	if len(changes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, c := range changes {
		st, ok := s.byTable[c.table]
		if !ok {
			continue
		}
		s.seq++
		st.records = append(st.records, st.record(c, now, FormatSeq(s.seq)))
		st.trim(now)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// record builds the stream record of a change as DynamoDB Streams does: the
// event name from which images exist, the keys always, the images the view
// type asks for.
func (st *stream) record(c change, now time.Time, seq string) Record {
	name, image := "MODIFY", c.new
	switch {
	case c.old == nil:
		name = "INSERT"
	case c.new == nil:
		name, image = "REMOVE", c.old
	}
	keys := map[string]json.RawMessage{}
	for _, k := range st.keyNames {
		if v, ok := image[k]; ok {
			keys[k] = v
		}
	}
	r := StreamRecord{ApproximateCreationDateTime: now.Unix(), Keys: keys, SequenceNumber: seq, StreamViewType: st.viewType}
	if st.viewType == "NEW_IMAGE" || st.viewType == "NEW_AND_OLD_IMAGES" {
		r.NewImage = c.new
	}
	if st.viewType == "OLD_IMAGE" || st.viewType == "NEW_AND_OLD_IMAGES" {
		r.OldImage = c.old
	}
	r.SizeBytes = max(itemSize(r.Keys)+itemSize(r.NewImage)+itemSize(r.OldImage), 1)
	return Record{EventID: newEventID(), EventName: name, EventVersion: "1.1", EventSource: "aws:dynamodb",
		AWSRegion: samtemplate.Region, DynamoDB: r, EventSourceARN: st.arn, at: now}
}

// trim drops records past the retention period or the cap; the caller
// holds s.mu.
func (st *stream) trim(now time.Time) {
	drop := max(len(st.records)-MaxStreamRecords, 0)
	for drop < len(st.records) && now.Sub(st.records[drop].Created()) > StreamRetention {
		drop++
	}
	if drop > 0 {
		st.records = append([]Record(nil), st.records[drop:]...)
	}
}

// Has tells whether streamARN names a stream of the local DynamoDB.
func (s *Streams) Has(streamARN string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byARN[streamARN]
	return ok
}

// Read returns up to limit records of the stream after sequence number after
// ("" reads from the oldest record kept: TRIM_HORIZON), and a channel that is
// closed when records are added after this call, to wait on when none are
// left. A position older than the oldest record kept reads from the oldest,
// as a reader of a trimmed shard does.
func (s *Streams) Read(streamARN, after string, limit int) ([]Record, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byARN[streamARN]
	if !ok {
		return nil, s.changed, fmt.Errorf("no stream %s in the local DynamoDB", streamARN)
	}
	i := 0
	if after != "" {
		// Records are in order: find the first after the position.
		lo, hi := 0, len(st.records)
		for lo < hi {
			m := (lo + hi) / 2
			if SeqLess(after, st.records[m].DynamoDB.SequenceNumber) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		i = lo
	}
	n := min(len(st.records)-i, max(limit, 0))
	out := make([]Record, n)
	copy(out, st.records[i:i+n])
	return out, s.changed, nil
}

// Latest is the sequence number of the stream's newest record, "" if none:
// reading after it is reading from LATEST.
func (s *Streams) Latest(streamARN string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byARN[streamARN]
	if !ok || len(st.records) == 0 {
		return ""
	}
	return st.records[len(st.records)-1].DynamoDB.SequenceNumber
}

// itemSize approximates an item's size as DynamoDB counts it: each
// attribute's name plus its value (strings and binaries by their bytes,
// numbers by about one byte per two digits, collections with 3 bytes of
// overhead plus their elements).
func itemSize(item map[string]json.RawMessage) int64 {
	var n int64
	for k, v := range item {
		var av any
		if json.Unmarshal(v, &av) == nil {
			n += int64(len(k)) + valueSize(av)
		}
	}
	return n
}

func valueSize(av any) int64 {
	m, ok := av.(map[string]any)
	if !ok {
		return 0
	}
	var n int64
	for typ, v := range m {
		switch typ {
		case "S":
			s, _ := v.(string)
			n += int64(len(s))
		case "B": // base64 in JSON
			s, _ := v.(string)
			n += int64(len(s)) * 3 / 4
		case "N":
			s, _ := v.(string)
			n += int64(len(s)+1)/2 + 1
		case "BOOL", "NULL":
			n++
		case "SS", "NS", "BS":
			list, _ := v.([]any)
			n += 3
			for _, e := range list {
				s, _ := e.(string)
				n += int64(len(s))
			}
		case "L":
			list, _ := v.([]any)
			n += 3
			for _, e := range list {
				n += 1 + valueSize(e)
			}
		case "M":
			mm, _ := v.(map[string]any)
			n += 3
			for k, e := range mm {
				n += 1 + int64(len(k)) + valueSize(e)
			}
		}
	}
	return n
}

// newEventID is a random 32-hex-digit id, the shape of DynamoDB's eventID.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
