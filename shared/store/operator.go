package store

// The operators' listing across accounts.
//
// gsi2 holds every provider under STATUS#<status>, sorted by the time of its
// last write and its id (indexSK), so one status is one descending Query,
// and every status together a k-way merge of the status partitions, newest
// change first. gsi3 holds the providers that wait on a step, under
// WAITING#<status>, sorted by since when they wait: the stuck ones are a
// Query below a cut-off, longest waiting first, and never a scan.
//
// Both project every attribute. The listing shows whole providers; with
// KEYS_ONLY (or INCLUDE, which cannot name nested maps' parts usefully)
// each listed provider would cost a GetItem, and a page of 100 a hundred
// reads, against an index write that costs about the item's size. Provider
// items are small (the timeline is capped), so ALL is the cheaper side.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// indexTimeLayout writes a time in UTC at a fixed width (nanoseconds always
// written), so that the index's string order is time order.
const indexTimeLayout = "2006-01-02T15:04:05.000000000Z"

func statusPK(s provider.Status) string  { return statusPrefix + string(s) }
func waitingPK(s provider.Status) string { return waitingPrefix + string(s) }

// indexSK is the sort key of gsi2 and gsi3: a fixed-width UTC time, then
// the provider id, which makes it unique.
func indexSK(t time.Time, id string) string {
	return t.UTC().Format(indexTimeLayout) + "#" + id
}

// OperatorQuery is what an operator lists.
type OperatorQuery struct {
	// Status keeps the providers of one status; "" lists every status.
	Status provider.Status
	// Health keeps the providers whose stored health has this status; a
	// provider without health matches no health filter. "" keeps all.
	Health provider.HealthStatus
	// Stuck lists the stuck providers first, longest waiting first, then
	// the others newest change first. A provider is stuck when it has
	// waited on its current step (provider.WaitingSince) longer than
	// StuckAfter at the listing's AsOf.
	Stuck      bool
	StuckAfter time.Duration
	// Limit is the page size, clamped to 1..100.
	Limit int
	// Cursor is the previous page's Next, "" for the first page.
	Cursor string
}

// OperatorPage is a page of the operators' listing.
type OperatorPage struct {
	Providers []provider.Provider
	// Next is the next page's cursor, "" on the last page.
	Next string
	// Skipped counts the page's items that could not be decoded (logged,
	// left out), as ProviderPage's.
	Skipped int
	// AsOf is the instant the listing judges stuck at: the first page's
	// clock, carried by the cursor, so that every page of one listing
	// splits the stuck and the other providers alike (none becomes stuck
	// between pages and so goes missing from both parts). Stuck at AsOf is
	// provider.StuckSince(AsOf, StuckAfter).
	AsOf time.Time
}

// ListOperatorProviders lists providers across accounts (see OperatorQuery),
// newest change first, reading gsi2 (and gsi3 for the stuck ones); health
// is a filter within those queries, and the queries go on until the page is
// full or the index ends. Without a status filter it merges the status
// partitions, and the cursor records the position in each. A cursor that
// is not one this listing made (another filter, another listing, forged) is
// invalid_request. The indexes are eventually consistent, and a provider
// that changes while an operator pages moves to the top of its status (or
// to another status): it may show up twice or not at all in that walk.
func (s *Store) ListOperatorProviders(ctx context.Context, q OperatorQuery) (OperatorPage, error) {
	if q.Status != "" && !q.Status.Valid() || q.Health != "" && !q.Health.Valid() || q.Stuck && q.StuckAfter <= 0 {
		return OperatorPage{}, apperr.Wrap(errors.New("invalid operator query"), "list operator providers")
	}
	limit := min(max(q.Limit, MinListLimit), MaxListLimit)
	cur, err := s.decodeOperatorCursor(q)
	if err != nil {
		return OperatorPage{}, err
	}
	l := &listing{store: s, q: q, cur: cur, chunk: int32(limit + 1)}
	page := OperatorPage{AsOf: time.Unix(0, cur.AsOf).UTC()}
	items, more, err := l.take(ctx, limit)
	if err != nil {
		return OperatorPage{}, apperr.Wrap(err, "query operator providers")
	}
	if more {
		page.Next = l.cursor()
	}
	page.Providers = make([]provider.Provider, 0, len(items))
	for _, item := range items {
		p, err := decodeProvider(item)
		if err != nil {
			page.Skipped++
			logging.From(ctx).Error("skipped a provider item that cannot be decoded",
				"pk", keyString(item[AttrPK]), "sk", keyString(item[AttrSK]), "problem", decodeProblem(err))
			continue
		}
		page.Providers = append(page.Providers, *p)
	}
	return page, nil
}

// listing is one page's walk: the stuck part first when asked (gsi3,
// ascending, below the cut-off), then the rest (gsi2, descending, without
// the stuck ones).
type listing struct {
	store   *Store
	q       OperatorQuery
	cur     operatorCursor
	chunk   int32
	streams []*stream
}

// stream is one status partition of the current part.
type stream struct {
	status provider.Status
	// pos is the sort key of the last item taken ("" none yet).
	pos string
	// buf holds items read and not taken yet; last is DynamoDB's
	// LastEvaluatedKey to read on from; ended when DynamoDB has no more.
	buf   []map[string]types.AttributeValue
	last  map[string]types.AttributeValue
	ended bool
}

// cut is the stuck part's bound: sort keys below it wait since before
// AsOf-StuckAfter (indexSK(since, id) < cut exactly when since < that).
func (l *listing) cut() string {
	return time.Unix(0, l.cur.AsOf).Add(-l.q.StuckAfter).UTC().Format(indexTimeLayout)
}

// partitions are the statuses of the current part: the filtered one or
// every status, and for the stuck part only the open ones (a finished
// provider waits on nothing).
func (l *listing) partitions() []provider.Status {
	var out []provider.Status
	for _, st := range provider.Statuses {
		if (l.q.Status == "" || st == l.q.Status) && (!l.cur.InStuck || !st.Terminal()) {
			out = append(out, st)
		}
	}
	return out
}

// open makes the current part's streams from the cursor's positions.
func (l *listing) open() {
	l.streams = l.streams[:0]
	for _, st := range l.partitions() {
		pos, seen := l.cur.At[string(st)]
		if seen && pos == cursorDone {
			continue
		}
		l.streams = append(l.streams, &stream{status: st, pos: pos})
	}
}

// take returns up to n items, stuck ones first, and whether more follow.
func (l *listing) take(ctx context.Context, n int) ([]map[string]types.AttributeValue, bool, error) {
	l.open()
	var out []map[string]types.AttributeValue
	for {
		for len(out) < n {
			best, err := l.head(ctx)
			if err != nil {
				return nil, false, err
			}
			if best == nil {
				break
			}
			out = append(out, best.buf[0])
			best.pos = keyString(best.buf[0][l.skAttr()])
			best.buf = best.buf[1:]
		}
		// The page is full, or the part has no more: either way head()
		// tells whether anything follows in this part.
		best, err := l.head(ctx)
		if err != nil {
			return nil, false, err
		}
		if best != nil {
			return out, true, nil
		}
		if !l.cur.InStuck {
			return out, false, nil
		}
		// The stuck part is over: the rest, from the top.
		l.cur.InStuck, l.cur.At = false, nil
		l.open()
	}
}

// head fills every stream's buffer and returns the stream whose first item
// comes next (nil when every stream is over): the newest change, or in the
// stuck part the longest wait.
func (l *listing) head(ctx context.Context) (*stream, error) {
	if err := l.fillAll(ctx); err != nil {
		return nil, err
	}
	var best *stream
	for _, st := range l.streams {
		if len(st.buf) == 0 {
			continue
		}
		if best == nil {
			best = st
			continue
		}
		a, b := keyString(st.buf[0][l.skAttr()]), keyString(best.buf[0][l.skAttr()])
		if l.cur.InStuck && a < b || !l.cur.InStuck && a > b {
			best = st
		}
	}
	return best, nil
}

func (l *listing) skAttr() string {
	if l.cur.InStuck {
		return AttrGSI3SK
	}
	return AttrGSI2SK
}

// fillAll fills every stream that needs it, at the same time: the first
// page of a listing across every status reads nine partitions, and one
// after the other they would take nine round trips.
func (l *listing) fillAll(ctx context.Context) error {
	var todo []*stream
	for _, st := range l.streams {
		if len(st.buf) == 0 && !st.ended {
			todo = append(todo, st)
		}
	}
	if len(todo) == 1 {
		return l.fill(ctx, todo[0])
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, st := range todo {
		wg.Go(func() { errs[i] = l.fill(ctx, st) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fill reads the stream's partition until it holds an item or ends.
func (l *listing) fill(ctx context.Context, st *stream) error {
	for len(st.buf) == 0 && !st.ended {
		in := l.query(st)
		in.ExclusiveStartKey = st.last
		out, err := l.store.client.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			// BETWEEN includes its lower bound: the item taken last.
			if st.pos == "" || keyString(item[l.skAttr()]) != st.pos {
				st.buf = append(st.buf, item)
			}
		}
		st.last = out.LastEvaluatedKey
		st.ended = len(out.LastEvaluatedKey) == 0
	}
	return nil
}

// query is the stream's Query after its position.
func (l *listing) query(st *stream) *dynamodb.QueryInput {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var keyCond string
	var filters []string
	in := &dynamodb.QueryInput{TableName: aws.String(l.store.table), Limit: aws.Int32(l.chunk)}
	if l.cur.InStuck {
		in.IndexName, in.ScanIndexForward = aws.String(IndexGSI3), aws.Bool(true)
		names["#pk"], names["#sk"] = AttrGSI3PK, AttrGSI3SK
		values[":pk"], values[":cut"] = str(waitingPK(st.status)), str(l.cut())
		keyCond = "#pk = :pk AND #sk < :cut"
		if st.pos != "" {
			keyCond = "#pk = :pk AND #sk BETWEEN :pos AND :cut"
			values[":pos"] = str(st.pos)
		}
	} else {
		in.IndexName, in.ScanIndexForward = aws.String(IndexGSI2), aws.Bool(false)
		names["#pk"] = AttrGSI2PK
		values[":pk"] = str(statusPK(st.status))
		keyCond = "#pk = :pk"
		if st.pos != "" {
			keyCond = "#pk = :pk AND #sk < :pos"
			names["#sk"], values[":pos"] = AttrGSI2SK, str(st.pos)
		}
		if l.q.Stuck {
			// The rest: every provider the stuck part did not list.
			names["#w"] = AttrGSI3SK
			values[":cut"] = str(l.cut())
			filters = append(filters, "(attribute_not_exists(#w) OR #w > :cut)")
		}
	}
	if l.q.Health != "" {
		names["#h"], names["#hs"] = "health", "status"
		values[":health"] = str(string(l.q.Health))
		filters = append(filters, "#h.#hs = :health")
	}
	in.KeyConditionExpression = aws.String(keyCond)
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = names, values
	return in
}

// The cursor.
//
// It records the filters it was made for, the listing's AsOf (stuck
// listings), which part it is in, and for each status partition of that
// part the last sort key listed, or cursorDone once the partition is over
// (a partition not named starts from the top). It is JSON in unpadded
// base64url. It carries no signature: an operator may read every provider
// anyway, so a forged position can only skip or repeat what the caller may
// see; what it may not do is reach another index, a partition outside the
// part, or a malformed key, and the decoder refuses all of those, as it
// refuses a cursor of another listing or of other filters.

// cursorDone marks a partition read to its end.
const cursorDone = "-"

type operatorCursor struct {
	V      int             `json:"v"`
	Status provider.Status `json:"s,omitempty"`
	Health string          `json:"h,omitempty"`
	Stuck  bool            `json:"k,omitempty"`
	// AsOf is the stuck listing's instant, in Unix nanoseconds.
	AsOf int64 `json:"t,omitempty"`
	// InStuck: the walk is still in the stuck part.
	InStuck bool `json:"p,omitempty"`
	// At is each partition's position: a compact sort key (compactSK) or
	// cursorDone.
	At map[string]string `json:"at,omitempty"`
}

const operatorCursorVersion = 1

// compactSK writes a sort key for the cursor without the time's
// punctuation and the id's prefix (the cursor holds up to nine of them in
// 1,024 characters): 23 digits, then the id's 26 ULID characters.
func compactSK(sk string) string {
	t, id, _ := strings.Cut(sk, "#")
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, t)
	return digits + strings.TrimPrefix(id, ProviderIDPrefix)
}

// expandSK reads compactSK's form back; false when it is not one.
func expandSK(c string) (string, bool) {
	const digits = 23
	if len(c) != digits+ulidLen {
		return "", false
	}
	d := c[:digits]
	t, err := time.Parse("20060102150405.000000000", d[:14]+"."+d[14:])
	id := ProviderIDPrefix + c[digits:]
	if err != nil || !ValidProviderID(id) {
		return "", false
	}
	sk := indexSK(t, id)
	if compactSK(sk) != c {
		return "", false
	}
	return sk, true
}

// cursor is the next page's cursor: this page's positions.
func (l *listing) cursor() string {
	c := l.cur
	c.At = map[string]string{}
	for _, st := range l.streams {
		switch {
		case len(st.buf) == 0 && st.ended:
			c.At[string(st.status)] = cursorDone
		case st.pos != "":
			c.At[string(st.status)] = compactSK(st.pos)
		}
	}
	// Partitions already over when this page began stay over.
	for _, st := range l.partitions() {
		if _, ok := c.At[string(st)]; !ok && !l.streaming(st) {
			c.At[string(st)] = cursorDone
		}
	}
	if !c.Stuck {
		// Only the stuck listing keeps its first page's clock.
		c.AsOf = 0
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (l *listing) streaming(st provider.Status) bool {
	for _, s := range l.streams {
		if s.status == st {
			return true
		}
	}
	return false
}

func badOperatorCursor(why string) error {
	return apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page.",
		apperr.Detail{Field: "cursor", Code: "invalid", Message: why})
}

// maxCursorSkew is how far in the future a cursor's AsOf may be (clocks of
// two function instances differ a little).
const maxCursorSkew = 5 * time.Minute

// decodeOperatorCursor reads q's cursor, or starts a listing when it is
// "": positions expanded back to sort keys, or invalid_request.
func (s *Store) decodeOperatorCursor(q OperatorQuery) (operatorCursor, error) {
	now := s.now()
	if q.Cursor == "" {
		c := operatorCursor{V: operatorCursorVersion, Status: q.Status, Health: string(q.Health), Stuck: q.Stuck, InStuck: q.Stuck, AsOf: now.UnixNano()}
		return c, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil {
		return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c operatorCursor
	if err := dec.Decode(&c); err != nil || dec.More() || c.V != operatorCursorVersion {
		return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
	}
	if c.Status != q.Status || c.Health != string(q.Health) || c.Stuck != q.Stuck {
		return operatorCursor{}, badOperatorCursor("the cursor belongs to a listing with other status, health or stuck filters")
	}
	switch {
	case !c.Stuck && (c.InStuck || c.AsOf != 0):
		return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
	case !c.Stuck:
		c.AsOf = now.UnixNano()
	case c.AsOf <= 0 || time.Unix(0, c.AsOf).After(now.Add(maxCursorSkew)):
		return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
	}
	l := listing{q: q, cur: c}
	allowed := map[string]bool{}
	for _, st := range l.partitions() {
		allowed[string(st)] = true
	}
	at := make(map[string]string, len(c.At))
	for status, pos := range c.At {
		if !allowed[status] {
			return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
		}
		if pos == cursorDone {
			at[status] = pos
			continue
		}
		sk, ok := expandSK(pos)
		if !ok || c.InStuck && sk >= l.cut() {
			return operatorCursor{}, badOperatorCursor("use the cursor of a previous page")
		}
		at[status] = sk
	}
	c.At = at
	return c, nil
}
