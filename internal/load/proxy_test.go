package load

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// reqResp is a server that reads requests framed as a 4-byte length and a body, and answers
// each with a response of the same framing holding the body reversed. It counts the bytes of
// requests it received whole.
type reqResp struct {
	ln       net.Listener
	complete atomic.Int64 // requests received whole
}

func newReqResp(t *testing.T) *reqResp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &reqResp{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *reqResp) serve(c net.Conn) {
	defer c.Close()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		s.complete.Add(1)
		for i, j := 0, len(body)-1; i < j; i, j = i+1, j-1 {
			body[i], body[j] = body[j], body[i]
		}
		if _, err := c.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// call sends one request and reads its response.
func call(c net.Conn, body []byte) ([]byte, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	if _, err := c.Write(append(hdr[:], body...)); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	out := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(c, out)
	return out, err
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProxyForwardsWhenNotCutting(t *testing.T) {
	srv := newReqResp(t)
	p, err := newProxy("127.0.0.1:0", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{1, 100, 5000, 300_000} {
		body := randomBytes(t, n)
		got, err := call(c, body)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, reversed(body)) {
			t.Fatalf("%d bytes: the response was corrupted", n)
		}
	}
	if st := p.Stats(); st.RequestCuts+st.ResponseCuts != 0 || st.Connections != 1 {
		t.Fatalf("stats %+v, want one connection and no cuts", st)
	}
}

func TestProxyLeavesSmallRequestsAlone(t *testing.T) {
	srv := newReqResp(t)
	p, err := newProxy("127.0.0.1:0", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetCutRate(1)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 50; i++ { // pings and small calls are never cut
		body := randomBytes(t, 200)
		if got, err := call(c, body); err != nil || !bytes.Equal(got, reversed(body)) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if st := p.Stats(); st.RequestCuts+st.ResponseCuts != 0 {
		t.Fatalf("small requests were cut: %+v", st)
	}
}

// TestProxyCutsMidStream checks both ways of cutting: a request cut reaches the server
// truncated (it never sees the whole request); a response cut lets the whole request through
// (the server does the work) and loses the answer. Either way the client gets no response.
func TestProxyCutsMidStream(t *testing.T) {
	srv := newReqResp(t)
	p, err := newProxy("127.0.0.1:0", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetCutRate(1)
	const conns = 40
	for i := 0; i < conns; i++ {
		before, cutsBefore := srv.complete.Load(), p.Stats()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		got, err := call(c, randomBytes(t, 32<<10))
		c.Close()
		if err == nil {
			t.Fatalf("connection %d: got a %d-byte response through a proxy cutting every request", i, len(got))
		}
		if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection %d: the client hung instead of seeing the cut: %v", i, err)
		}
		// Wait for the server to have seen what it will see.
		time.Sleep(20 * time.Millisecond)
		st := p.Stats()
		reqCut, respCut := st.RequestCuts-cutsBefore.RequestCuts, st.ResponseCuts-cutsBefore.ResponseCuts
		if reqCut+respCut != 1 {
			t.Fatalf("connection %d: %d request cuts and %d response cuts, want exactly one cut", i, reqCut, respCut)
		}
		whole := srv.complete.Load() - before
		if respCut == 1 && whole != 1 {
			t.Fatalf("connection %d: response cut but the server received %d whole requests, want 1", i, whole)
		}
		if reqCut == 1 && whole != 0 {
			t.Fatalf("connection %d: request cut but the server received it whole", i)
		}
	}
	st := p.Stats()
	if st.RequestCuts == 0 || st.ResponseCuts == 0 {
		t.Fatalf("over %d connections: %d request cuts, %d response cuts; want both kinds", conns, st.RequestCuts, st.ResponseCuts)
	}
	if st.Connections != conns {
		t.Fatalf("%d connections counted, want %d", st.Connections, conns)
	}
}

func TestProxyCloseEndsOpenConnections(t *testing.T) {
	srv := newReqResp(t)
	p, err := newProxy("127.0.0.1:0", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := call(c, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with a connection open")
	}
	if _, err := call(c, []byte("again")); err == nil {
		t.Fatal("the connection still works after Close")
	}
}
