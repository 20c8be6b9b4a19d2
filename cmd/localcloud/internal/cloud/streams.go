package cloud

import (
	"fmt"
	"sync"

	"github.com/partnercloud/azure/cmd/localcloud/internal/eventsource"
)

// streamMappings are the template's DynamoDB stream events, running: each
// delivers its table's stream records to its function as Lambda does (see
// package eventsource), and keeps the batches given up on.
type streamMappings struct {
	running []*eventsource.Mapping
	mu      sync.Mutex
	dead    []eventsource.DeadLetter
}

// startStreamMappings starts an event source mapping for every enabled
// DynamoDB event of the template's functions. Streams are the embedded
// DynamoDB's: with an external endpoint the events are not delivered (a
// warning says so). A stream the local DynamoDB lacks fails the start.
func (c *Cloud) startStreamMappings() error {
	for _, f := range c.tmpl.Functions {
		for _, ev := range f.StreamEvents {
			if !ev.Enabled {
				continue
			}
			if c.dyn == nil {
				c.log.Warn("DynamoDB stream events need the embedded DynamoDB; this one is not delivered", "function", f.LogicalID, "event", ev.Name)
				continue
			}
			if !c.dyn.Streams.Has(ev.StreamARN) {
				return fmt.Errorf("function %s event %s: the local DynamoDB has no stream %s (does the table have a StreamSpecification?)", f.LogicalID, ev.Name, ev.StreamARN)
			}
			m, err := eventsource.Start(eventsource.ConfigFor(f, ev, c.opts.TimeScale), eventsource.Options{
				Source: c.dyn.Streams, Invoker: c.host, Log: c.log.With("component", "eventsource"),
				OnDeadLetter: c.streams.keep,
			})
			if err != nil {
				return err
			}
			c.streams.running = append(c.streams.running, m)
			c.log.Info("stream event source mapping started", "function", f.LogicalID, "table", ev.Table, "startingPosition", ev.StartingPosition)
		}
	}
	return nil
}

func (s *streamMappings) keep(d eventsource.DeadLetter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, d)
}

// close stops every mapping.
func (s *streamMappings) close() {
	for _, m := range s.running {
		m.Close()
	}
	s.running = nil
}

// DeadLetters are the stream batches the event source mappings gave up on
// (retries exhausted or records too old), in order: what Lambda sends to the
// on-failure destination (Destination), with the records themselves.
func (c *Cloud) DeadLetters() []eventsource.DeadLetter {
	c.streams.mu.Lock()
	defer c.streams.mu.Unlock()
	return append([]eventsource.DeadLetter(nil), c.streams.dead...)
}
