package provider

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	day := 24 * time.Hour
	sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := DefaultInvitationSchedule
	tests := []struct {
		name     string
		now      time.Time
		sentAt   time.Time
		reminded int
		want     InvitationAction
	}{
		{"never sent", sent, time.Time{}, 0, ActionSend},
		{"day 1", sent.Add(day), sent, 0, ActionWait},
		{"day 3 first reminder", sent.Add(3 * day), sent, 0, ActionRemind},
		{"day 5 after first reminder", sent.Add(5 * day), sent, 1, ActionWait},
		{"day 7 second reminder", sent.Add(7 * day), sent, 1, ActionRemind},
		{"day 8 missed first reminder still sends one", sent.Add(8 * day), sent, 0, ActionRemind},
		{"day 10 all reminders sent", sent.Add(10 * day), sent, 2, ActionWait},
		{"day 14 expired", sent.Add(14 * day), sent, 2, ActionExpire},
		{"expiry beats a due reminder", sent.Add(15 * day), sent, 0, ActionExpire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Next(tt.now, tt.sentAt, tt.reminded); got != tt.want {
				t.Errorf("Next = %s, want %s", got, tt.want)
			}
		})
	}
}
