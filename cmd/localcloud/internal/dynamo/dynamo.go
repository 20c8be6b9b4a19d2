// Package dynamo serves DynamoDB on loopback with the embedded
// github.com/truora/minidyn server, or uses an external DynamoDB-compatible
// endpoint (DynamoDB Local, for example), and creates the template's tables
// there with the real SDK.
package dynamo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/shared/store/storetest/minidynwire"
)

// Handler returns the minidyn DynamoDB handler wrapped so that every
// attribute value comes back with its type, empty lists, maps and binaries
// included (see minidynwire), and every response carries X-Amz-Crc32 (the
// CRC32 IEEE of the body, in decimal), which the AWS SDK's DynamoDB client
// validates and minidyn omits.
func Handler() http.Handler {
	return WithCRC32(minidyn(nil))
}

// HandlerWithStreams is Handler with the changes to tables that have a
// stream recorded in streams.
func HandlerWithStreams(streams *Streams) http.Handler {
	return WithCRC32(minidyn(streams))
}

// minidyn is a new embedded DynamoDB that keeps the type of empty values
// and answers the table-level calls (ListTables, DescribeTable, TTL, tags)
// as DynamoDB does (see catalog). With streams not nil, the changes to
// tables created with a stream are recorded there (see capture).
func minidyn(streams *Streams) http.Handler {
	h := http.Handler(newCatalog(minidynwire.Wrap(server.NewServer())))
	if streams != nil {
		h = &capture{next: h, streams: streams}
	}
	return h
}

// WithCRC32 buffers each response of next and adds the X-Amz-Crc32 header.
func WithCRC32(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		body := rec.body.Bytes()
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if w.Header().Get("X-Amzn-Requestid") == "" {
			w.Header().Set("X-Amzn-Requestid", strconv.FormatInt(time.Now().UnixNano(), 36))
		}
		w.WriteHeader(rec.code)
		_, _ = w.Write(body)
	})
}

type bufferedResponse struct {
	header      http.Header
	body        bytes.Buffer
	code        int
	wroteHeader bool
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wroteHeader {
		b.code, b.wroteHeader = code, true
	}
}

// Server is the embedded DynamoDB server on a loopback address.
type Server struct {
	// URL is the endpoint, e.g. "http://127.0.0.1:8000".
	URL string
	// Streams holds the records of the tables' streams (StartWithFaults
	// only; nil otherwise).
	Streams *Streams
	srv     *http.Server
	ln      net.Listener
}

// Start serves the embedded DynamoDB on ln (bound by the caller, so the
// caller can report a busy port with its own flag name).
func Start(ln net.Listener) *Server {
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// NewClient returns an SDK DynamoDB client for endpoint with dummy
// credentials, as the functions' clients are configured locally.
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       samtemplate.Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCALCLOUD", "local-cloud-secret", ""),
	})
}

// CreateTables creates each table (with its secondary indexes) through the
// SDK and sets its TTL attribute. A table that already exists is left as it
// is (an external endpoint keeps its tables between runs). PITR is not set:
// neither minidyn nor DynamoDB Local keeps backups.
func CreateTables(ctx context.Context, client *dynamodb.Client, tables []samtemplate.Table) error {
	for _, t := range tables {
		in := CreateTableInput(t)
		if _, err := client.CreateTable(ctx, in); err != nil {
			var inUse *types.ResourceInUseException
			if errors.As(err, &inUse) {
				continue
			}
			return fmt.Errorf("create table %s (%s): %w", t.Name, t.LogicalID, err)
		}
		if t.TTLAttribute != "" {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(t.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("table %s: time to live: %w", t.Name, err)
			}
		}
	}
	return nil
}

// CreateTableInput translates a template table into a CreateTable request.
// Billing is on demand unless the template asks for PROVISIONED, in which case
// a nominal throughput is given.
func CreateTableInput(t samtemplate.Table) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		KeySchema:   keySchema(t.KeySchema),
		BillingMode: types.BillingModePayPerRequest,
	}
	provisioned := t.BillingMode == string(types.BillingModeProvisioned)
	throughput := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}
	if provisioned {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = throughput
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.Name), AttributeType: types.ScalarAttributeType(a.Type)})
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		g := types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keySchema(ix.KeySchema), Projection: projection(ix)}
		if provisioned {
			g.ProvisionedThroughput = throughput
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
	}
	for _, ix := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName: aws.String(ix.Name), KeySchema: keySchema(ix.KeySchema), Projection: projection(ix)})
	}
	if t.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(t.StreamViewType)}
	}
	return in
}

func keySchema(ks []samtemplate.KeyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: types.KeyType(k.KeyType)}
	}
	return out
}

func projection(ix samtemplate.SecondaryIndex) *types.Projection {
	p := &types.Projection{ProjectionType: types.ProjectionType(ix.ProjectionType)}
	if len(ix.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = ix.NonKeyAttributes
	}
	return p
}

// Counter counts DynamoDB requests by operation (the part of X-Amz-Target
// after the dot: "GetItem", "TransactWriteItems", ...). It is off unless the
// cloud is started with Options.CountDynamoDB; counting costs a map update
// under a mutex per request.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{counts: map[string]int64{}} }

// Wrap counts each request to next by its X-Amz-Target operation.
func (c *Counter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		if op == "" {
			op = "unknown"
		}
		c.mu.Lock()
		c.counts[op]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Counts returns a copy of the counts by operation.
func (c *Counter) Counts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// IsRead tells whether a DynamoDB operation reads items (GetItem, Query,
// Scan, BatchGetItem, TransactGetItems); the item-changing ones are writes.
func IsRead(op string) bool {
	switch op {
	case "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems":
		return true
	}
	return false
}

// IsWrite tells whether a DynamoDB operation changes items.
func IsWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		return true
	}
	return false
}

// StartCounted is Start with every request counted by counter.
func StartCounted(ln net.Listener, counter *Counter) *Server {
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: counter.Wrap(Handler()), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}
