package notice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

// TestResume: closing an invitation with the administrator's decision (or
// a refused tenant) marks it for the relay, which resumes the wait once
// with the right outcome; cancel and expiry resume nothing.
func TestResume(t *testing.T) {
	tests := []struct {
		name        string
		close       func(s *store.Store, hash string) error
		wantSucceed int
		wantFail    string
	}{
		{"consented: success with the tenant", func(s *store.Store, h string) error {
			_, err := s.CloseInvitation(context.Background(), h, consent.StatusConsented, "tenant-1")
			return err
		}, 1, ""},
		{"declined", func(s *store.Store, h string) error {
			_, err := s.CloseInvitation(context.Background(), h, consent.StatusDeclined, "")
			return err
		}, 0, workflow.ErrorName(workflow.Named(apperr.New(apperr.ConsentDeclined, "x")))},
		{"refused: the refusal's name", func(s *store.Store, h string) error {
			_, err := s.RefuseInvitation(context.Background(), h, apperr.MigrationInProgress)
			return err
		}, 0, workflow.ErrorName(workflow.Named(apperr.New(apperr.MigrationInProgress, "x")))},
		{"cancelled: nothing to resume", func(s *store.Store, h string) error {
			_, err := s.CloseInvitation(context.Background(), h, consent.StatusCancelled, "")
			return err
		}, 0, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := storetest.NewTestStore(t)
			hash := strings.Repeat(fmt.Sprint(i), 64)
			if err := s.PutInvitation(ctx, consent.Record{Hash: hash, AccountID: "acct-1", ProviderID: "prv-1", TaskToken: "token-1", Status: consent.StatusOpen, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := tt.close(s, hash); err != nil {
				t.Fatal(err)
			}
			tasks := &fakes.Tasks{}
			r := &Resumer{Invitations: s, Tasks: tasks}
			for range 2 { // delivered twice: resumed once
				if err := r.Resume(ctx, hash); err != nil {
					t.Fatal(err)
				}
			}
			ok, failed := tasks.Counts()
			if ok != tt.wantSucceed || (tt.wantFail == "") != (failed == 0) || failed > 1 {
				t.Fatalf("%d successes, %d failures", ok, failed)
			}
			if ok == 1 {
				out := tasks.Outputs[0].(workflow.ConsentResult)
				if out.TenantID != "tenant-1" || out.ConsentedAt.IsZero() || tasks.Succeeded[0] != "token-1" {
					t.Fatalf("success output %+v", out)
				}
			}
			if failed == 1 && (tasks.Failed[0].Name != tt.wantFail || tasks.Failed[0].Token != "token-1") {
				t.Fatalf("failure %+v, want %s", tasks.Failed[0], tt.wantFail)
			}
			if rec, err := s.GetInvitation(ctx, hash); err != nil || rec.ResumeSince != nil {
				t.Fatalf("resume mark left: %+v %v", rec, err)
			}
		})
	}
}

// TestResumeFailures: a task that no longer waits is done; Step Functions
// failing leaves the mark for the stream's retry.
func TestResumeFailures(t *testing.T) {
	for _, tt := range []struct {
		name     string
		err      error
		wantErr  bool
		wantMark bool
	}{
		{"task gone", fmt.Errorf("x: %w", workflow.ErrTaskGone), false, false},
		{"Step Functions unavailable", errors.New("throttled"), true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := storetest.NewTestStore(t)
			hash := strings.Repeat("f", 64)
			if err := s.PutInvitation(ctx, consent.Record{Hash: hash, AccountID: "acct-1", ProviderID: "prv-1", TaskToken: "token-1", Status: consent.StatusOpen, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CloseInvitation(ctx, hash, consent.StatusConsented, "tenant-1"); err != nil {
				t.Fatal(err)
			}
			r := &Resumer{Invitations: s, Tasks: &fakes.Tasks{Errs: []error{tt.err}}}
			if err := r.Resume(ctx, hash); (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			rec, _ := s.GetInvitation(ctx, hash)
			if (rec.ResumeSince != nil) != tt.wantMark {
				t.Fatalf("mark %v, want %v", rec.ResumeSince, tt.wantMark)
			}
		})
	}
	s, _ := storetest.NewTestStore(t)
	if err := (&Resumer{Invitations: s, Tasks: &fakes.Tasks{}}).Resume(context.Background(), strings.Repeat("9", 64)); err != nil {
		t.Fatalf("an unknown invitation: %v", err)
	}
}
