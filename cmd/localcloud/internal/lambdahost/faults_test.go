package lambdahost

import (
	"errors"
	"testing"
	"time"
)

func TestKillNext(t *testing.T) {
	h, _ := newHost(t, Function{Name: "Echo", Timeout: 5 * time.Second})
	if _, err := invoke(t, h, "Echo", `{"warm":1}`); err != nil {
		t.Fatal(err)
	}
	if err := h.KillNext("Echo", 2); err != nil {
		t.Fatal(err)
	}
	if n := h.KillsPending("Echo"); n != 2 {
		t.Fatalf("%d kills pending, want 2", n)
	}
	for i := range 2 {
		_, err := invoke(t, h, "Echo", `{"a":1}`)
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.ErrorType != "Runtime.ExitError" {
			t.Fatalf("crash %d: %v, want Runtime.ExitError", i, err)
		}
	}
	if n := h.KillsPending("Echo"); n != 0 {
		t.Fatalf("%d kills pending after them, want 0", n)
	}
	out, err := invoke(t, h, "Echo", `{"after":true}`)
	if err != nil || string(out) != `{"after":true}` {
		t.Fatalf("after the injected crashes: %s, %v", out, err)
	}
	if err := h.KillNext("Nope", 1); err == nil {
		t.Fatal("unknown function accepted")
	}
}
