package provider

import (
	"fmt"
	"unicode/utf8"
)

// Kinds of timeline events that may repeat. Consecutive events of one kind
// (and status) are folded into one with a count, so that reminders,
// resends, repeated ownership checks or operator changes cannot grow a
// provider's item (and the timeline the UI shows) without bound.
const (
	EventReminderSent      = "reminder_sent"
	EventConsentResent     = "consent_resent"
	EventOwnershipChecked  = "ownership_checked"
	EventOwnerPrincipalSet = "owner_principal_set"
	// EventRelationshipsChecked: a check of the partner relationships
	// found a step changed.
	EventRelationshipsChecked = "relationships_checked"
	// EventOmitted stands for events dropped by the hard cap; its Count is
	// how many.
	EventOmitted = "events_omitted"
)

// Bounds of the timeline: a last resort behind folding, far below
// DynamoDB's 400 KB item limit (MaxTimelineEvents events of at most
// MaxEventText + MaxEventBy bytes of text each: under 100 KB).
const (
	MaxTimelineEvents = 100
	MaxEventText      = 600
	MaxEventBy        = 160
)

// AddEvent appends e to the timeline, the one way events are added:
//
//   - An event with a Kind that repeats the last event (same Kind and
//     Status) is folded into it: the last event takes e's time, text and
//     author, its Count grows (2 for the first repeat) and FirstAt keeps
//     when the repetition began. Events without a Kind are never folded,
//     so a duplicate of a one-off event stays visible.
//   - Text longer than MaxEventText (MaxEventBy for the author) is cut.
//   - Beyond MaxTimelineEvents, the oldest events after the first (the
//     creation) are replaced by one EventOmitted event counting them.
func (p *Provider) AddEvent(e Event) {
	e.What = clip(e.What, MaxEventText)
	e.By = clip(e.By, MaxEventBy)
	e.Count, e.FirstAt = 0, nil
	if n := len(p.Timeline); n > 0 && e.Kind != "" && e.Kind != EventOmitted {
		if last := &p.Timeline[n-1]; last.Kind == e.Kind && last.Status == e.Status {
			if last.FirstAt == nil {
				first := last.At
				last.FirstAt = &first
			}
			last.Count = max(last.Count, 1) + 1
			last.At, last.What, last.By = e.At, e.What, e.By
			return
		}
	}
	p.Timeline = append(p.Timeline, e)
	p.capTimeline()
}

// RemoveEvent takes back an event AddEvent added (an email claimed but not
// sent): the last event at e.At with e's text and kind. A folded event
// loses one repeat: with two, it becomes the first again, at its own time;
// with more it keeps e's time (the time of the repeat before is not kept).
// An event of its own is removed. It reports whether it found the event.
func (p *Provider) RemoveEvent(e Event) bool {
	what := clip(e.What, MaxEventText)
	for i := len(p.Timeline) - 1; i >= 0; i-- {
		ev := &p.Timeline[i]
		if !ev.At.Equal(e.At) || ev.What != what || ev.Kind != e.Kind {
			continue
		}
		switch {
		case ev.Count > 2:
			ev.Count--
		case ev.Count == 2:
			if ev.FirstAt != nil {
				ev.At = *ev.FirstAt
			}
			ev.Count, ev.FirstAt = 0, nil
		default:
			p.Timeline = append(p.Timeline[:i], p.Timeline[i+1:]...)
		}
		return true
	}
	return false
}

// Occurrences is how many events e stands for: its Count, or 1.
func (e Event) Occurrences() int { return max(e.Count, 1) }

// capTimeline keeps at most MaxTimelineEvents events: the first, one
// EventOmitted event counting what was dropped, and the newest.
func (p *Provider) capTimeline() {
	if len(p.Timeline) <= MaxTimelineEvents {
		return
	}
	first, rest := p.Timeline[0], p.Timeline[1:]
	marker := Event{Kind: EventOmitted, By: "system"}
	if rest[0].Kind == EventOmitted {
		marker, rest = rest[0], rest[1:]
	}
	keep := MaxTimelineEvents - 2
	dropped := rest[:len(rest)-keep]
	if marker.FirstAt == nil && len(dropped) > 0 {
		t := dropped[0].At
		if dropped[0].FirstAt != nil {
			t = *dropped[0].FirstAt
		}
		marker.FirstAt = &t
	}
	for _, d := range dropped {
		marker.Count += d.Occurrences()
		marker.At, marker.Status = d.At, d.Status
	}
	marker.What = fmt.Sprintf("%d earlier events are not shown.", marker.Count)
	out := make([]Event, 0, MaxTimelineEvents)
	out = append(out, first, marker)
	p.Timeline = append(out, rest[len(dropped):]...)
}

// clip cuts s to at most n bytes on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
