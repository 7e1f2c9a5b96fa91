package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// TestEndedSessionStaysEnded: a request still in flight when its session is signed out commits
// the session it loaded (the session manager does so for every request while an idle timeout is
// set); that commit must not bring the session back.
func TestEndedSessionStaysEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws := pgtest.NewStore(t).WebSessions()
	exp := time.Now().Add(time.Hour)
	if err := ws.CommitCtx(ctx, "tok-1", []byte("signed in"), exp); err != nil {
		t.Fatal(err)
	}
	if b, found, err := ws.FindCtx(ctx, "tok-1"); err != nil || !found || string(b) != "signed in" {
		t.Fatalf("find before sign-out: %q %v %v", b, found, err)
	}
	if err := ws.DeleteCtx(ctx, "tok-1"); err != nil {
		t.Fatal(err)
	}
	// The in-flight request's commit, after the sign-out.
	if err := ws.CommitCtx(ctx, "tok-1", []byte("signed in"), exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, err := ws.FindCtx(ctx, "tok-1"); err != nil || found {
		t.Fatalf("a session committed after its sign-out was found again (found=%v, err=%v)", found, err)
	}
	// Other sessions are untouched, and a new session is written as usual.
	if err := ws.CommitCtx(ctx, "tok-2", []byte("other"), exp); err != nil {
		t.Fatal(err)
	}
	if b, found, _ := ws.FindCtx(ctx, "tok-2"); !found || string(b) != "other" {
		t.Fatalf("another session: %q found=%v", b, found)
	}
}
