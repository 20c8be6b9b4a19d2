package storetest

import (
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWithCRC32(t *testing.T) {
	body := `{"__type":"ValidationException","message":"x"}`
	h := WithCRC32(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(body))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	want := strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)
	if got := rec.Header().Get("X-Amz-Crc32"); got != want {
		t.Errorf("X-Amz-Crc32 = %q, want %q", got, want)
	}
	if rec.Code != http.StatusBadRequest || rec.Body.String() != body || rec.Header().Get("Content-Type") == "" {
		t.Errorf("response changed: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}
