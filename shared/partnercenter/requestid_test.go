package partnercenter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// idempotentPC is a Partner Center that performs a creation once per
// MS-RequestId and answers a repeat with the original result, as Partner
// Center documents. lose makes it drop that many replies after performing
// the call (the connection is cut), as a timeout on the way back does.
type idempotentPC struct {
	mu        sync.Mutex
	performed map[string]string // request id → created id
	created   int
	lose      int
	seen      []http.Header
}

func (p *idempotentPC) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Header.Clone())
	rid := r.Header.Get("MS-RequestId")
	id, ok := p.performed[rid]
	if !ok {
		p.created++
		id = "created-" + string(rune('0'+p.created))
		p.performed[rid] = id
	}
	lose := p.lose > 0
	if lose {
		p.lose--
	}
	p.mu.Unlock()
	if lose {
		panic(http.ErrAbortHandler) // performed, but the reply never arrives
	}
	w.WriteHeader(http.StatusCreated)
	switch {
	case strings.HasSuffix(r.URL.Path, "/carts"):
		w.Write([]byte(`{"id":"` + id + `"}`))
	case strings.HasSuffix(r.URL.Path, "/checkout"):
		w.Write([]byte(`{"orders":[{"id":"` + id + `"}]}`))
	default:
		w.Write([]byte(`{"id":"` + id + `","companyProfile":{"tenantId":"` + id + `"},"userCredentials":{"userName":"admin","password":"P@ss"}}`))
	}
}

// TestRetriesKeepTheRequestID: every attempt of one call carries the same
// MS-RequestId and MS-CorrelationId, so a creation whose reply was lost is
// not performed twice.
func TestRetriesKeepTheRequestID(t *testing.T) {
	pc := &idempotentPC{performed: map[string]string{}, lose: 2}
	c, waits, _ := client(t, pc.handle)
	got, err := c.CreateCustomer(context.Background(), NewCustomer{CompanyName: "X", Domain: "x.onmicrosoft.com", Email: "a@x.example"})
	if err != nil || got.ID != "created-1" || pc.created != 1 || len(pc.seen) != 3 || len(*waits) != 2 {
		t.Fatalf("= %+v, %v; %d created in %d calls", got, err, pc.created, len(pc.seen))
	}
	for _, h := range pc.seen {
		if h.Get("MS-RequestId") != pc.seen[0].Get("MS-RequestId") || h.Get("MS-CorrelationId") != pc.seen[0].Get("MS-CorrelationId") {
			t.Fatalf("a retry changed the ids: %v then %v", pc.seen[0], h)
		}
		if _, err := uuid.Parse(h.Get("MS-RequestId")); err != nil {
			t.Fatalf("MS-RequestId %q is not a GUID", h.Get("MS-RequestId"))
		}
	}
	// Without a request key, another call is another request.
	if _, err := c.CreateCustomer(context.Background(), NewCustomer{CompanyName: "Y", Domain: "y.onmicrosoft.com", Email: "a@y.example"}); err != nil || pc.created != 2 {
		t.Fatalf("second creation: %v, %d created", err, pc.created)
	}
}

// TestRequestKeySpansRuns: a run that gave up (every reply lost) and the
// next run of the same step send the same ids, so the next run gets what
// the first performed: one customer, one order.
func TestRequestKeySpansRuns(t *testing.T) {
	pc := &idempotentPC{performed: map[string]string{}, lose: 4}
	c, _, _ := client(t, pc.handle) // MaxRetries 3: four attempts
	n := NewCustomer{CompanyName: "X", Domain: "x.onmicrosoft.com", Email: "a@x.example", RequestKey: "provider/acct-1/prv-1/create-customer"}
	if _, err := c.CreateCustomer(context.Background(), n); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first run: %v, want ErrUnavailable", err)
	}
	got, err := c.CreateCustomer(context.Background(), n) // the task's retry
	if err != nil || got.ID != "created-1" || pc.created != 1 {
		t.Fatalf("second run: %+v, %v; %d created", got, err, pc.created)
	}

	pc.lose = 5 // the cart, then every checkout reply of the first run
	key := "provider/acct-1/prv-1/order"
	if _, err := c.OrderAzurePlan(context.Background(), got.ID, key); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first order run: %v", err)
	}
	order, err := c.OrderAzurePlan(context.Background(), got.ID, key)
	if err != nil || pc.created != 3 || order != "created-3" {
		t.Fatalf("second order run: %q, %v; %d created (customer, cart, order)", order, err, pc.created)
	}

	other := n
	other.RequestKey = "provider/acct-1/prv-2/create-customer"
	if RequestID(n.RequestKey, "customers") == RequestID(other.RequestKey, "customers") ||
		RequestID(key, "carts", got.ID) == RequestID(key, "checkout", got.ID) {
		t.Fatal("distinct calls share a request id")
	}
	if v := uuid.MustParse(RequestID(key, "checkout")).Version(); v != 5 {
		t.Fatalf("request id version %d, want a name-based UUIDv5", v)
	}
}
