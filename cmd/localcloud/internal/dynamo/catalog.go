package dynamo

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// catalog answers the table-level calls minidyn lacks or answers thinly, in
// the shapes DynamoDB documents, so that the AWS CLI and SDKs believe the
// local DynamoDB: ListTables, DescribeTable (every field DynamoDB returns for
// an active table, not minidyn's nulls), DescribeTimeToLive and
// UpdateTimeToLive, ListTagsOfResource, TagResource and UntagResource. It
// learns the tables from the CreateTable and DeleteTable calls minidyn
// accepts, and passes every item call through. minidyn answers an operation
// it does not know with a plain-text 400 the SDKs cannot read; the catalog
// answers DynamoDB's UnknownOperationException instead.
//
// Hand-written because minidyn (the embedded DynamoDB the local cloud is
// required to use) has no table catalog and no such middleware exists.
type catalog struct {
	next   http.Handler
	now    func() time.Time
	mu     sync.Mutex
	tables map[string]*tableInfo
}

// tableInfo is what the catalog keeps of a table: its CreateTable request
// and what changed since.
type tableInfo struct {
	create  createTableRequest
	id      string
	created time.Time
	ttl     *ttlSpec
	tags    map[string]string
}

type ttlSpec struct {
	AttributeName string `json:"AttributeName"`
	Enabled       bool   `json:"Enabled"`
}

type keyElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type attributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type throughput struct {
	ReadCapacityUnits  int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits int64 `json:"WriteCapacityUnits"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type indexRequest struct {
	IndexName             string          `json:"IndexName"`
	KeySchema             []keyElement    `json:"KeySchema"`
	Projection            json.RawMessage `json:"Projection"`
	ProvisionedThroughput *throughput     `json:"ProvisionedThroughput"`
}

type createTableRequest struct {
	TableName              string                `json:"TableName"`
	AttributeDefinitions   []attributeDefinition `json:"AttributeDefinitions"`
	KeySchema              []keyElement          `json:"KeySchema"`
	BillingMode            string                `json:"BillingMode"`
	ProvisionedThroughput  *throughput           `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexes []indexRequest        `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  []indexRequest        `json:"LocalSecondaryIndexes"`
	StreamSpecification    *struct {
		StreamEnabled  bool   `json:"StreamEnabled"`
		StreamViewType string `json:"StreamViewType"`
	} `json:"StreamSpecification"`
	SSESpecification *struct {
		Enabled        bool   `json:"Enabled"`
		SSEType        string `json:"SSEType"`
		KMSMasterKeyID string `json:"KMSMasterKeyId"`
	} `json:"SSESpecification"`
	TableClass                string `json:"TableClass"`
	DeletionProtectionEnabled bool   `json:"DeletionProtectionEnabled"`
	Tags                      []tag  `json:"Tags"`
}

func newCatalog(next http.Handler) *catalog {
	return &catalog{next: next, now: time.Now, tables: map[string]*tableInfo{}}
}

// dynamoError is a DynamoDB JSON error body.
type dynamoError struct {
	status int
	typ    string
	msg    string
}

func writeDynamoError(w http.ResponseWriter, e dynamoError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

func validation(format string, a ...any) *dynamoError {
	return &dynamoError{http.StatusBadRequest, "com.amazon.coral.validate#ValidationException", fmt.Sprintf(format, a...)}
}

func notFound(what string) *dynamoError {
	return &dynamoError{http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
		"Requested resource not found: " + what}
}

// minidynOperations are the operations minidyn serves itself.
var minidynOperations = map[string]bool{
	"CreateTable": true, "UpdateTable": true, "DeleteTable": true, "DescribeTable": true,
	"PutItem": true, "DeleteItem": true, "UpdateItem": true, "GetItem": true, "Query": true, "Scan": true,
	"BatchWriteItem": true, "BatchGetItem": true, "TransactWriteItems": true, "TransactGetItems": true,
}

func (c *catalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	var handle func(body []byte) (any, *dynamoError)
	switch op {
	case "CreateTable", "DeleteTable":
		c.learn(w, r, op)
		return
	case "DescribeTable":
		handle = func(body []byte) (any, *dynamoError) { return c.describeTable(r, body) }
	case "ListTables":
		handle = c.listTables
	case "DescribeTimeToLive":
		handle = c.describeTimeToLive
	case "UpdateTimeToLive":
		handle = c.updateTimeToLive
	case "ListTagsOfResource":
		handle = c.listTags
	case "TagResource":
		handle = c.tagResource
	case "UntagResource":
		handle = c.untagResource
	default:
		if !minidynOperations[op] {
			writeDynamoError(w, dynamoError{http.StatusBadRequest, "com.amazon.coral.service#UnknownOperationException",
				"the local DynamoDB does not serve " + op})
			return
		}
		c.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeDynamoError(w, *validation("cannot read the request"))
		return
	}
	out, derr := handle(body)
	if derr != nil {
		writeDynamoError(w, *derr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
}

// learn passes CreateTable or DeleteTable to minidyn and, when minidyn
// accepts it, records the table (or forgets it) and answers the full
// TableDescription DynamoDB answers.
func (c *catalog) learn(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeDynamoError(w, *validation("cannot read the request"))
		return
	}
	rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	c.next.ServeHTTP(rec, in)
	if rec.code != http.StatusOK {
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	var desc map[string]any
	switch op {
	case "CreateTable":
		var req createTableRequest
		if err := json.Unmarshal(body, &req); err != nil || req.TableName == "" {
			writeDynamoError(w, *validation("TableName is required"))
			return
		}
		t := &tableInfo{create: req, id: newUUID(), created: c.now(), tags: map[string]string{}}
		for _, tg := range req.Tags {
			t.tags[tg.Key] = tg.Value
		}
		c.mu.Lock()
		c.tables[req.TableName] = t
		desc = c.description(t, 0, "ACTIVE")
		c.mu.Unlock()
	case "DeleteTable":
		var req struct{ TableName string }
		_ = json.Unmarshal(body, &req)
		name := tableName(req.TableName)
		c.mu.Lock()
		if t, ok := c.tables[name]; ok {
			desc = c.description(t, 0, "DELETING")
			delete(c.tables, name)
		}
		c.mu.Unlock()
		if desc == nil {
			desc = map[string]any{"TableName": name, "TableStatus": "DELETING"}
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"TableDescription": desc})
}

// tableName accepts a table's name or its ARN, as DynamoDB does.
func tableName(s string) string {
	if i := strings.Index(s, ":table/"); i >= 0 && strings.HasPrefix(s, "arn:") {
		s = s[i+len(":table/"):]
	}
	return s
}

func tableARN(name string) string {
	return "arn:aws:dynamodb:" + samtemplate.Region + ":" + samtemplate.AccountID + ":table/" + name
}

// table finds a table by name or ARN; the caller holds c.mu.
func (c *catalog) table(nameOrARN string) (*tableInfo, *dynamoError) {
	if nameOrARN == "" {
		return nil, validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t, ok := c.tables[tableName(nameOrARN)]
	if !ok {
		return nil, notFound("Table: " + tableName(nameOrARN) + " not found")
	}
	return t, nil
}

// description is the TableDescription of t with itemCount items; the caller
// holds c.mu.
func (c *catalog) description(t *tableInfo, itemCount int64, status string) map[string]any {
	req := t.create
	arn := tableARN(req.TableName)
	created := float64(t.created.UnixMilli()) / 1000
	onDemand := req.BillingMode != "PROVISIONED"
	capacity := func(p *throughput) map[string]any {
		out := map[string]any{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
		if !onDemand && p != nil {
			out["ReadCapacityUnits"], out["WriteCapacityUnits"] = p.ReadCapacityUnits, p.WriteCapacityUnits
		}
		return out
	}
	d := map[string]any{
		"TableName":                 req.TableName,
		"TableArn":                  arn,
		"TableId":                   t.id,
		"TableStatus":               status,
		"CreationDateTime":          created,
		"AttributeDefinitions":      req.AttributeDefinitions,
		"KeySchema":                 req.KeySchema,
		"ProvisionedThroughput":     capacity(req.ProvisionedThroughput),
		"TableSizeBytes":            0,
		"ItemCount":                 itemCount,
		"DeletionProtectionEnabled": req.DeletionProtectionEnabled,
	}
	if onDemand {
		d["BillingModeSummary"] = map[string]any{"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": created}
	} else {
		d["BillingModeSummary"] = map[string]any{"BillingMode": "PROVISIONED"}
	}
	if req.TableClass != "" {
		d["TableClassSummary"] = map[string]any{"TableClass": req.TableClass}
	}
	var gsis []map[string]any
	for _, ix := range req.GlobalSecondaryIndexes {
		gsis = append(gsis, map[string]any{
			"IndexName": ix.IndexName, "KeySchema": ix.KeySchema, "Projection": ix.Projection,
			"IndexStatus": "ACTIVE", "ProvisionedThroughput": capacity(ix.ProvisionedThroughput),
			"IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": arn + "/index/" + ix.IndexName,
		})
	}
	if gsis != nil {
		d["GlobalSecondaryIndexes"] = gsis
	}
	var lsis []map[string]any
	for _, ix := range req.LocalSecondaryIndexes {
		lsis = append(lsis, map[string]any{
			"IndexName": ix.IndexName, "KeySchema": ix.KeySchema, "Projection": ix.Projection,
			"IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": arn + "/index/" + ix.IndexName,
		})
	}
	if lsis != nil {
		d["LocalSecondaryIndexes"] = lsis
	}
	if s := req.StreamSpecification; s != nil && s.StreamEnabled {
		// The label is fixed so that the template's `!GetAtt T.StreamArn`
		// names this stream (see samtemplate.StreamLabel).
		d["StreamSpecification"] = map[string]any{"StreamEnabled": true, "StreamViewType": s.StreamViewType}
		d["LatestStreamLabel"] = samtemplate.StreamLabel
		d["LatestStreamArn"] = samtemplate.StreamARN(req.TableName)
	}
	if s := req.SSESpecification; s != nil && s.Enabled {
		key := s.KMSMasterKeyID
		if key == "" {
			key = "arn:aws:kms:" + samtemplate.Region + ":" + samtemplate.AccountID + ":key/" + t.id
		}
		d["SSEDescription"] = map[string]any{"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
	}
	return d
}

// describeTable answers DescribeTable; ItemCount is counted with a Scan of
// minidyn (DynamoDB refreshes it about every six hours; counting now is
// within what it documents and more useful locally).
func (c *catalog) describeTable(r *http.Request, body []byte) (any, *dynamoError) {
	var in struct{ TableName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	c.mu.Lock()
	_, derr := c.table(in.TableName)
	c.mu.Unlock()
	if derr != nil {
		return nil, derr
	}
	count := c.countItems(r, tableName(in.TableName))
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.table(in.TableName)
	if derr != nil {
		return nil, derr
	}
	return map[string]any{"Table": c.description(t, count, "ACTIVE")}, nil
}

// countItems counts the table's items with Scan Select=COUNT, page by page.
func (c *catalog) countItems(r *http.Request, name string) int64 {
	var total int64
	var start json.RawMessage
	for range 10000 {
		req := map[string]any{"TableName": name, "Select": "COUNT"}
		if start != nil {
			req["ExclusiveStartKey"] = start
		}
		b, _ := json.Marshal(req)
		in, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, "/", bytes.NewReader(b))
		in.Header.Set("X-Amz-Target", "DynamoDB_20120810.Scan")
		in.Header.Set("Content-Type", "application/x-amz-json-1.0")
		rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
		c.next.ServeHTTP(rec, in)
		var out struct {
			Count            int64
			LastEvaluatedKey json.RawMessage
		}
		if rec.code != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &out) != nil {
			return total
		}
		total += out.Count
		if len(out.LastEvaluatedKey) == 0 || string(out.LastEvaluatedKey) == "null" || string(out.LastEvaluatedKey) == "{}" {
			return total
		}
		start = out.LastEvaluatedKey
	}
	return total
}

// listTables answers ListTables: names in ascending order, pages of Limit
// (1 to 100, default 100) after ExclusiveStartTableName.
func (c *catalog) listTables(body []byte) (any, *dynamoError) {
	var in struct {
		ExclusiveStartTableName string
		Limit                   *int
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, validation("cannot parse the request: %v", err)
		}
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1", *in.Limit)
		}
		limit = *in.Limit
	}
	c.mu.Lock()
	names := make([]string, 0, len(c.tables))
	for n := range c.tables {
		names = append(names, n)
	}
	c.mu.Unlock()
	sort.Strings(names)
	i := sort.SearchStrings(names, in.ExclusiveStartTableName)
	if i < len(names) && names[i] == in.ExclusiveStartTableName {
		i++
	}
	page := names[i:]
	out := map[string]any{}
	if len(page) > limit {
		page = page[:limit]
		out["LastEvaluatedTableName"] = page[len(page)-1]
	}
	out["TableNames"] = append([]string{}, page...)
	return out, nil
}

func (c *catalog) describeTimeToLive(body []byte) (any, *dynamoError) {
	var in struct{ TableName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.table(in.TableName)
	if derr != nil {
		return nil, derr
	}
	desc := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if t.ttl != nil && t.ttl.Enabled {
		desc = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.ttl.AttributeName}
	}
	return map[string]any{"TimeToLiveDescription": desc}, nil
}

// updateTimeToLive records the table's TTL setting. minidyn never deletes
// expired items; DynamoDB deletes them only within a few days of expiry, so
// readers filter on the attribute either way.
func (c *catalog) updateTimeToLive(body []byte) (any, *dynamoError) {
	var in struct {
		TableName               string
		TimeToLiveSpecification *ttlSpec
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	spec := in.TimeToLiveSpecification
	if spec == nil || spec.AttributeName == "" {
		return nil, validation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.table(in.TableName)
	if derr != nil {
		return nil, derr
	}
	enabled := t.ttl != nil && t.ttl.Enabled
	switch {
	case spec.Enabled && enabled:
		return nil, validation("TimeToLive is already enabled")
	case !spec.Enabled && !enabled:
		return nil, validation("TimeToLive is already disabled")
	}
	s := *spec
	t.ttl = &s
	return map[string]any{"TimeToLiveSpecification": s}, nil
}

func (c *catalog) listTags(body []byte) (any, *dynamoError) {
	var in struct{ ResourceArn string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.resource(in.ResourceArn)
	if derr != nil {
		return nil, derr
	}
	tags := []tag{}
	for k, v := range t.tags {
		tags = append(tags, tag{k, v})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return map[string]any{"Tags": tags}, nil
}

func (c *catalog) tagResource(body []byte) (any, *dynamoError) {
	var in struct {
		ResourceArn string
		Tags        []tag
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.resource(in.ResourceArn)
	if derr != nil {
		return nil, derr
	}
	for _, tg := range in.Tags {
		t.tags[tg.Key] = tg.Value
	}
	return map[string]any{}, nil
}

func (c *catalog) untagResource(body []byte) (any, *dynamoError) {
	var in struct {
		ResourceArn string
		TagKeys     []string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, validation("cannot parse the request: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, derr := c.resource(in.ResourceArn)
	if derr != nil {
		return nil, derr
	}
	for _, k := range in.TagKeys {
		delete(t.tags, k)
	}
	return map[string]any{}, nil
}

// resource finds a table by its ARN (tag calls take ARNs only); the caller
// holds c.mu.
func (c *catalog) resource(arn string) (*tableInfo, *dynamoError) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":table/") {
		return nil, validation("Invalid TableArn: Invalid ResourceArn provided as input %s", arn)
	}
	return c.table(arn)
}

// newUUID is a random RFC 4122 version 4 UUID, the shape of a TableId.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
