package apperr

import (
	"errors"
	"testing"
)

func TestAsHidesForeignErrors(t *testing.T) {
	cause := errors.New("dynamodb: secret table name leaked")
	e := As(cause)
	if e.Code != Internal {
		t.Fatalf("code = %s, want internal", e.Code)
	}
	if e.Message == cause.Error() {
		t.Fatal("internal error text reached the safe message")
	}
	if !errors.Is(e, cause) {
		t.Fatal("cause not kept for logs")
	}
	wrapped := Wrap(cause, "put item")
	if !errors.Is(wrapped, cause) || wrapped.Code != Internal {
		t.Fatal("Wrap lost the cause or the code")
	}
	mine := New(NameTaken, "taken")
	if As(errors.Join(mine)).Code != NameTaken || !Is(mine, NameTaken) {
		t.Fatal("As did not find an *Error in the chain")
	}
}

func TestUndecodable(t *testing.T) {
	cause := errors.New("unmarshal failed, cannot unmarshal string into Go value type []provider.Subscription")
	err := Undecodable(cause, "decode provider")
	if err.Code != Internal {
		t.Errorf("code %s; want internal", err.Code)
	}
	if err.Message != "An internal error occurred." {
		t.Errorf("message %q shows more than an internal error", err.Message)
	}
	if !errors.Is(err, ErrUndecodable) || !errors.Is(err, cause) {
		t.Errorf("%v: want both ErrUndecodable and the decoder's error in the chain", err)
	}
	if wrapped := Wrap(errors.New("timeout"), "get provider"); errors.Is(wrapped, ErrUndecodable) {
		t.Error("an ordinary internal error is reported as undecodable")
	}
}
