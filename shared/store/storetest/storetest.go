// Package storetest runs the real store against an embedded DynamoDB
// (minidyn, behind minidynwire so that empty lists, maps and binaries keep
// their type) over HTTP, with the real aws-sdk-go-v2 client, for tests.
package storetest

import (
	"bytes"
	"context"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest/minidynwire"
)

// TableName is the name of the table NewTestStore creates.
const TableName = "partnercloud-test"

// NewTestStore starts an embedded DynamoDB with the product's table (see
// store.CreateTableInput) and returns a store over it and the raw client.
// Everything is torn down when the test ends. Each call gets its own,
// empty database.
func NewTestStore(t testing.TB) (*store.Store, *dynamodb.Client) {
	t.Helper()
	client := NewClient(t)
	if _, err := client.CreateTable(context.Background(), store.CreateTableInput(TableName)); err != nil {
		t.Fatalf("storetest: create table: %v", err)
	}
	return store.New(client, TableName), client
}

// NewClient starts an embedded DynamoDB with no tables and returns a client
// of it.
func NewClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	srv := httptest.NewServer(WithCRC32(minidynwire.Wrap(server.NewServer())))
	t.Cleanup(srv.Close)
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   srv.Client(),
	})
}

// WithCRC32 adds the X-Amz-Crc32 header DynamoDB sends (CRC32 IEEE of the
// body, in decimal), which minidyn omits and the SDK validates.
func WithCRC32(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(rec.body.Bytes())), 10))
		w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// bufferedWriter holds a whole response so its checksum can be computed
// before the headers are sent.
type bufferedWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}
