package load

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	gosync "sync"
	"sync/atomic"
)

// Proxy is a loopback TCP proxy that can cut connections mid-stream. With a cut rate above zero
// it drops a connection at random while a large request is in flight, in one of two ways:
//
//   - request cut: a client→server chunk of at least MinRequestBytes is forwarded only in part,
//     then both sides are closed — the server sees a truncated request;
//   - response cut: after such a chunk went through whole, the next server→client chunk of at
//     least MinResponseBytes is dropped and both sides are closed — the server has done the work,
//     the client never hears about it and must replay.
//
// A proxy knows nothing of gRPC; for a tablet whose calls are serial, "a large client→server
// chunk" is a push and "the next sizeable answer" is its response.
type Proxy struct {
	// MinRequestBytes is the least size of a client→server chunk that counts as a request in
	// flight (default 4096: pushes, not pulls or pings).
	MinRequestBytes int
	// MinResponseBytes is the least size of a server→client chunk that counts as a response
	// (default 64: not window updates or pings).
	MinResponseBytes int

	target string
	ln     net.Listener

	rate         atomic.Uint64 // float64 bits: chance per request to cut
	conns        atomic.Int64
	requestCuts  atomic.Int64
	responseCuts atomic.Int64

	mu     gosync.Mutex
	open   map[*proxyConn]struct{}
	closed bool
	wg     gosync.WaitGroup
}

// newProxy listens on listen (e.g. "127.0.0.1:0") and forwards every connection to target.
func newProxy(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{MinRequestBytes: 4096, MinResponseBytes: 64, target: target, ln: ln, open: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetCutRate sets the chance (0..1) that a request in flight gets its connection cut; 0 turns
// cutting off.
func (p *Proxy) SetCutRate(r float64) { p.rate.Store(floatBits(r)) }

func (p *Proxy) cutRate() float64 { return floatFrom(p.rate.Load()) }

// proxyStats counts what the proxy did.
type proxyStats struct {
	Connections  int64 // accepted
	RequestCuts  int64 // connections cut while forwarding a request
	ResponseCuts int64 // connections cut instead of delivering a response
}

// Stats returns the counters.
func (p *Proxy) Stats() proxyStats {
	return proxyStats{Connections: p.conns.Load(), RequestCuts: p.requestCuts.Load(), ResponseCuts: p.responseCuts.Load()}
}

// Close stops accepting, closes every open connection and waits for the copiers to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go p.serve(client)
	}
}

type proxyConn struct {
	client, server net.Conn
	once           gosync.Once
	armed          atomic.Bool // a whole request went through; its response may be cut
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		// An abortive close (RST), as a dropped network path looks to a peer that keeps writing.
		if tc, ok := c.client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		if tc, ok := c.server.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.client.Close()
		c.server.Close()
	})
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	c := &proxyConn{client: client, server: server}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.open[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.open, c)
		p.mu.Unlock()
		c.close()
	}()
	done := make(chan struct{}, 2)
	for _, dir := range []struct {
		src, dst net.Conn
		up       bool
	}{{client, server, true}, {server, client, false}} {
		go func() {
			if !p.pipe(c, dir.src, dir.dst, dir.up) {
				c.close() // an error or a cut ends both directions
			}
			done <- struct{}{}
		}()
	}
	<-done
	<-done
}

// pipe copies src to dst chunk by chunk, deciding per chunk whether to cut. It reports whether
// src ended with a clean EOF (passed on as a half-close).
func (p *Proxy) pipe(c *proxyConn, src, dst net.Conn, upstream bool) bool {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			rate := p.cutRate()
			switch {
			case upstream && n >= p.MinRequestBytes && rate > 0:
				// One draw: below rate/2 cut the request now, below rate let it through whole and
				// cut its response.
				u := rand.Float64()
				if u < rate/2 {
					_, _ = dst.Write(chunk[:n/2])
					p.requestCuts.Add(1)
					return false
				}
				if u < rate {
					c.armed.Store(true)
				}
			case !upstream && n >= p.MinResponseBytes && c.armed.Load():
				p.responseCuts.Add(1)
				return false
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return false
			}
		}
		if err != nil {
			if err != io.EOF {
				return false
			}
			// Half-close: pass the EOF on and let the other direction finish.
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return true
		}
	}
}

func floatBits(f float64) uint64 { return math.Float64bits(f) }
func floatFrom(b uint64) float64 { return math.Float64frombits(b) }
