package lazy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestBuildsOnceUnderConcurrency(t *testing.T) {
	var builds atomic.Int32
	release := make(chan struct{})
	l := New(func(context.Context) (string, error) {
		builds.Add(1)
		<-release
		return "key", nil
	})
	if builds.Load() != 0 {
		t.Fatal("built before the first Get")
	}
	var wg sync.WaitGroup
	got := make([]string, 16)
	for i := range got {
		wg.Go(func() {
			v, err := l.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds, want 1", n)
	}
	for i, v := range got {
		if v != "key" {
			t.Fatalf("Get %d = %q", i, v)
		}
	}
}

func TestRetriesAfterAFailure(t *testing.T) {
	calls := 0
	unavailable := errors.New("secrets manager unavailable")
	l := New(func(ctx context.Context) (int, error) {
		calls++
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if calls < 3 {
			return 0, unavailable
		}
		return 42, nil
	})
	for i := range 2 {
		if _, err := l.Get(context.Background()); !errors.Is(err, unavailable) {
			t.Fatalf("Get %d: %v, want the build's error", i, err)
		}
	}
	v, err := l.Get(context.Background())
	if err != nil || v != 42 {
		t.Fatalf("Get = %d, %v; want 42 once the build succeeds", v, err)
	}
	if v, err := l.Get(context.Background()); err != nil || v != 42 || calls != 3 {
		t.Fatalf("Get = %d, %v after %d builds; want the kept value, no new build", v, err, calls)
	}
}

// The build runs with the context of the Get that needs the value: a
// cancelled request fails alone, the next one builds.
func TestUsesTheCallersContext(t *testing.T) {
	l := New(func(ctx context.Context) (string, error) { return "v", ctx.Err() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
	if v, err := l.Get(context.Background()); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}
