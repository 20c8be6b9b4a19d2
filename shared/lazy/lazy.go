// Package lazy holds values built on first use: the clients, secrets and
// credentials a function needs for some requests only, so that its cold
// start does none of that work (see shared/startup).
package lazy

import (
	"context"
	"sync"
	"sync/atomic"
)

// Value is a value built on first use, once: a client, a secret, a
// credential that only some requests need. Get is safe for concurrent use:
// one build runs at a time, and callers that arrive while it runs wait for
// it. A build that fails is not remembered: its caller gets the error and
// the next Get builds again, so a secret that could not be read at 9:00 is
// read at 9:01 by the same warm function, never an error cached for its
// lifetime. A value once built is kept.
type Value[T any] struct {
	build func(context.Context) (T, error)
	done  atomic.Bool
	mu    sync.Mutex
	value T
}

// New returns a Value that builds its value with build. build gets the
// context of the Get that runs it (the first request that needs the value).
func New[T any](build func(context.Context) (T, error)) *Value[T] {
	return &Value[T]{build: build}
}

// Get returns the value, building it if no build has succeeded yet.
func (l *Value[T]) Get(ctx context.Context) (T, error) {
	if l.done.Load() {
		return l.value, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done.Load() {
		return l.value, nil
	}
	v, err := l.build(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	l.value = v
	l.done.Store(true)
	return v, nil
}
