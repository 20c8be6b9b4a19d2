package dynamo

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCounter(t *testing.T) {
	c := NewCounter()
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, target := range []string{"DynamoDB_20120810.GetItem", "DynamoDB_20120810.GetItem", "DynamoDB_20120810.TransactWriteItems", ""} {
		r := httptest.NewRequest("POST", "/", nil)
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	got := c.Counts()
	if got["GetItem"] != 2 || got["TransactWriteItems"] != 1 || got["unknown"] != 1 || len(got) != 3 {
		t.Fatalf("counts %v", got)
	}
	if !IsRead("Query") || IsRead("PutItem") || !IsWrite("TransactWriteItems") || IsWrite("GetItem") {
		t.Fatal("IsRead/IsWrite")
	}
}
