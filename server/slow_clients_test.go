package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// A client that trickles its body is cut off with 408 once the body timeout has passed, instead
// of holding a connection for as long as its Content-Length lets it; the server stays healthy.
func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.HTTPReadBodyTimeout = 300 * time.Millisecond })
	tok := e.TokenFor(t, observation.RoleCoach)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 100 000 bytes at one per 20 ms would take over half an hour.
	fmt.Fprintf(conn, "POST /v1/sync:pull HTTP/1.1\r\nHost: lookfor\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", tok)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	// Only a guard against hanging the test run, not a measurement.
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the trickling body was never cut off: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	st := wantREST(t, r, http.StatusRequestTimeout, codes.InvalidArgument)
	if reasonOf(st) != "BODY_TIMEOUT" || !strings.Contains(st.Message(), "--http-read-body-timeout") {
		t.Errorf("reason %q, message %q: want BODY_TIMEOUT naming the configured timeout", reasonOf(st), st.Message())
	}

	if r := e.Do(t, "GET", "/healthz", "", ""); r.Status != http.StatusOK {
		t.Fatalf("healthz after a slow client: %d", r.Status)
	}
	wantREST(t, e.Do(t, "GET", "/v1/me", tok, ""), http.StatusOK, codes.OK)
}

// A bearer token over the size cap is refused as unauthenticated before it is verified: this one
// is validly signed, and would otherwise be accepted.
func TestOversizeTokenIsRefusedBeforeVerification(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	p := e.Users[observation.RoleCoach]
	p.UserID = strings.Repeat("u", 9<<10)
	big := e.Token(t, p)

	st := wantREST(t, e.Do(t, "GET", "/v1/me", big, ""), http.StatusUnauthorized, codes.Unauthenticated)
	if reasonOf(st) != "TOKEN_TOO_LARGE" || !strings.Contains(st.Message(), "8192") {
		t.Errorf("REST: reason %q, message %q: want TOKEN_TOO_LARGE naming the 8192-byte limit", reasonOf(st), st.Message())
	}
	_, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(big), &pb.WhoAmIRequest{})
	if st := wantCode(t, err, codes.Unauthenticated); reasonOf(st) != "TOKEN_TOO_LARGE" {
		t.Errorf("gRPC: reason %q, want TOKEN_TOO_LARGE", reasonOf(st))
	}
	// An ordinary token still works.
	wantREST(t, e.Do(t, "GET", "/v1/me", e.TokenFor(t, observation.RoleCoach), ""), http.StatusOK, codes.OK)
}

// Every size refusal states the configured limit: a REST push over --push-max-bytes (whose JSON
// fits the body limit) in lookfor's words with the push's reason code, a gRPC message over the
// transport's limit in the transport's words, and a request over --max-request-bytes naming
// the flag.
func TestSizeErrorsNameTheLimit(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	e := testenv.Start(t, func(c *server.Config) { c.MaxRequestBytes, c.PushLimits.MaxBytes = limit, limit })
	transportLimit := 2 * (limit + 64<<10)
	tok := e.TokenFor(t, observation.RoleCoach)
	body := fmt.Sprintf(`{"device_id":"7c1e3f0a-3f7e-4c4e-9d59-6d1c2b0a9e11","changes":[{"seq":"1","record":{"next_steps":%q}}]}`,
		strings.Repeat("x", limit+1024))
	st := wantREST(t, e.Do(t, "POST", "/v1/sync:push", tok, body), http.StatusRequestEntityTooLarge, codes.ResourceExhausted)
	if reasonOf(st) != "PUSH_TOO_LARGE" || !strings.Contains(st.Message(), fmt.Sprint(limit)) || strings.Contains(st.Message(), "grpc") {
		t.Errorf("reason %q, message %q: want PUSH_TOO_LARGE naming the %d-byte limit in lookfor's words", reasonOf(st), st.Message(), limit)
	}

	// Over gRPC the transport refuses it before lookfor sees it; its message states the limit.
	_, err := pb.NewRubricServiceClient(e.GRPC).CreateRubric(testenv.Ctx(tok), &pb.CreateRubricRequest{RubricId: "big",
		Content: &pb.RubricContent{Title: map[string]string{"en": strings.Repeat("x", transportLimit)}}})
	if st := wantCode(t, err, codes.ResourceExhausted); !strings.Contains(st.Message(), fmt.Sprint(transportLimit)) {
		t.Errorf("gRPC: message %q does not state the %d-byte limit", st.Message(), transportLimit)
	}
	// Under the message limit, over --max-request-bytes: lookfor's own check names its flag.
	_, err = pb.NewRubricServiceClient(e.GRPC).CreateRubric(testenv.Ctx(tok), &pb.CreateRubricRequest{RubricId: "big",
		Content: &pb.RubricContent{Title: map[string]string{"en": strings.Repeat("x", limit+1024)}}})
	if st := wantCode(t, err, codes.ResourceExhausted); !strings.Contains(st.Message(), fmt.Sprint(limit)) || !strings.Contains(st.Message(), "--max-request-bytes") {
		t.Errorf("gRPC: message %q does not name the %d-byte --max-request-bytes limit", st.Message(), limit)
	}
}
