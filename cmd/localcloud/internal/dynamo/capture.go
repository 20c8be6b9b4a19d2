package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// capture records the item changes of tables with a stream into Streams,
// as DynamoDB Streams does. minidyn has no streams, so it reads each written
// item through the wrapped handler before and after the write (GetItem with
// ConsistentRead) and compares the two: a new item is an INSERT, a changed
// one a MODIFY, a deleted one a REMOVE, and a write that changed nothing (a
// Put of the same item, a Delete of a missing one) yields no record, as AWS
// documents. Writes to stream tables are serialised, so the images are
// exactly the item before and after that write. A failed write (a condition
// not met, a cancelled transaction) changes nothing and yields nothing.
//
// It sits inside the fault switch, so an injected fault never reaches it,
// and inside the request counter, so its own reads are not counted.
type capture struct {
	next    http.Handler
	streams *Streams
	// mu serialises the writes that touch a stream table.
	mu sync.Mutex
}

// itemRef is one item a write request names.
type itemRef struct {
	table string
	key   map[string]json.RawMessage
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	switch op {
	case "CreateTable", "DeleteTable", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
	default:
		c.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeDynamoError(w, *validation("cannot read the request"))
		return
	}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	switch op {
	case "CreateTable", "DeleteTable":
		rec := c.forward(w, in)
		if rec.code == http.StatusOK {
			c.learn(op, body)
		}
		return
	}
	refs := c.streamItems(op, body)
	if len(refs) == 0 {
		c.next.ServeHTTP(w, in)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx := context.WithoutCancel(r.Context())
	before := make([]map[string]json.RawMessage, len(refs))
	for i, ref := range refs {
		before[i] = c.getItem(ctx, ref)
	}
	if rec := c.forward(w, in); rec.code != http.StatusOK {
		return
	}
	var changes []change
	for i, ref := range refs {
		after := c.getItem(ctx, ref)
		if sameItem(before[i], after) {
			continue
		}
		changes = append(changes, change{table: ref.table, old: before[i], new: after})
	}
	c.streams.append(changes)
}

// forward serves in with the wrapped handler, copies the answer to w and
// returns it.
func (c *capture) forward(w http.ResponseWriter, in *http.Request) *bufferedResponse {
	rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
	c.next.ServeHTTP(rec, in)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(rec.body.Bytes())
	return rec
}

// learn enables or forgets a table's stream after CreateTable or DeleteTable.
func (c *capture) learn(op string, body []byte) {
	var req createTableRequest
	if json.Unmarshal(body, &req) != nil {
		return
	}
	name := tableName(req.TableName)
	if op == "DeleteTable" {
		c.streams.disable(name)
		return
	}
	if s := req.StreamSpecification; s != nil && s.StreamEnabled {
		keys := make([]string, len(req.KeySchema))
		for i, k := range req.KeySchema {
			keys[i] = k.AttributeName
		}
		c.streams.enable(name, s.StreamViewType, keys)
	}
}

// writeRequests are the parts of the write requests that name items.
type writeRequests struct {
	TableName     string
	Item, Key     map[string]json.RawMessage
	RequestItems  map[string][]struct{ PutRequest, DeleteRequest *writeRequests }
	TransactItems []struct{ Put, Update, Delete *writeRequests }
}

// streamItems lists, in request order, the items a write names in tables
// that have a stream; a ConditionCheck writes nothing and is left out.
func (c *capture) streamItems(op string, body []byte) []itemRef {
	var req writeRequests
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	var refs []itemRef
	add := func(table string, item map[string]json.RawMessage) {
		table = tableName(table)
		_, keyNames, ok := c.streams.table(table)
		if !ok || item == nil {
			return
		}
		key := map[string]json.RawMessage{}
		for _, k := range keyNames {
			v, ok := item[k]
			if !ok {
				return // an invalid request: DynamoDB refuses it
			}
			key[k] = v
		}
		refs = append(refs, itemRef{table: table, key: key})
	}
	switch op {
	case "PutItem":
		add(req.TableName, req.Item)
	case "UpdateItem", "DeleteItem":
		add(req.TableName, req.Key)
	case "BatchWriteItem":
		// Tables in name order: a map has none, and the local cloud wants
		// the same records for the same request.
		for _, table := range slices.Sorted(maps.Keys(req.RequestItems)) {
			for _, wr := range req.RequestItems[table] {
				switch {
				case wr.PutRequest != nil:
					add(table, wr.PutRequest.Item)
				case wr.DeleteRequest != nil:
					add(table, wr.DeleteRequest.Key)
				}
			}
		}
	case "TransactWriteItems":
		for _, ti := range req.TransactItems {
			switch {
			case ti.Put != nil:
				add(ti.Put.TableName, ti.Put.Item)
			case ti.Update != nil:
				add(ti.Update.TableName, ti.Update.Key)
			case ti.Delete != nil:
				add(ti.Delete.TableName, ti.Delete.Key)
			}
		}
	}
	return refs
}

// getItem reads an item through the wrapped handler with a consistent read;
// nil when there is none (or the read fails: the write then fails too).
func (c *capture) getItem(ctx context.Context, ref itemRef) map[string]json.RawMessage {
	body, _ := json.Marshal(map[string]any{"TableName": ref.table, "Key": ref.key, "ConsistentRead": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
	c.next.ServeHTTP(rec, req)
	var out struct{ Item map[string]json.RawMessage }
	if rec.code != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &out) != nil || len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

// sameItem compares two images by value (not by their JSON's spelling).
func sameItem(a, b map[string]json.RawMessage) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		var x, y any
		if json.Unmarshal(va, &x) != nil || json.Unmarshal(vb, &y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
