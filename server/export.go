package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/lookfor-edu/lookfor/export"
	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
)

// exportChunk is the most bytes one message of an export stream carries.
const exportChunk = 64 << 10

type exportServer struct {
	pb.UnimplementedExportServiceServer
	exporter *export.Exporter
}

// ExportDistrict streams a district's archive in chunks as the exporter writes it: the gateway
// writes each chunk to the HTTP response as it arrives, and gRPC's flow control holds the
// exporter back when the client reads slowly, so no process holds the archive.
func (s *exportServer) ExportDistrict(req *pb.ExportDistrictRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	name := "lookfor-" + req.GetDistrictId() + "-export.zip"
	if req.GetAfter() != "" {
		name = "lookfor-" + req.GetDistrictId() + "-export-after-" + req.GetAfter() + ".zip"
	}
	w := &chunkWriter{stream: stream, disposition: `attachment; filename="` + name + `"`}
	_, err := s.exporter.Export(ctx, principalFrom(ctx),
		export.Request{DistrictID: req.GetDistrictId(), After: req.GetAfter(), MaxObservations: int(req.GetMaxObservations())}, w)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return fail(ctx, err)
	}
	return nil
}

// chunkWriter sends what is written to it as HttpBody messages of up to exportChunk bytes. The
// response headers go with the first message, so a refusal before any byte is a plain error.
type chunkWriter struct {
	stream      grpc.ServerStreamingServer[httpbody.HttpBody]
	disposition string
	buf         []byte
	sent        bool
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), exportChunk-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == exportChunk {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 && w.sent {
		return nil
	}
	if !w.sent {
		if err := w.stream.SetHeader(metadata.Pairs(mdContentDisposition, w.disposition)); err != nil {
			return err
		}
		w.sent = true
	}
	err := w.stream.Send(&httpbody.HttpBody{ContentType: "application/zip", Data: w.buf})
	w.buf = w.buf[:0]
	return err
}

// noWriteDeadline lifts --http-write-timeout for a district export, which streams for as long
// as the district's data takes (the client bounds one archive with max_observations instead).
func noWriteDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		next.ServeHTTP(w, r)
	})
}

// streamErrors gives a streamed route's refusals the body every other route's errors have. The
// gateway writes an error that ends a stream before its first message as {"error": status}; this
// writer holds back any response whose status is an error (a small body) and writes the status
// unwrapped. A stream that has begun passes through untouched.
func streamErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &streamErrorWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

type streamErrorWriter struct {
	http.ResponseWriter
	code int
	held *bytes.Buffer // the body of an error response, until finish
}

func (w *streamErrorWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	if code >= 400 {
		w.held = &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamErrorWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.held != nil {
		return w.held.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *streamErrorWriter) Flush() {
	if w.held != nil {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *streamErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *streamErrorWriter) finish() {
	if w.held == nil {
		return
	}
	body := w.held.Bytes()
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 {
		body = wrapped.Error
	}
	w.Header().Del("Transfer-Encoding") // the gateway's, for a stream; this is one short body
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.ResponseWriter.WriteHeader(w.code)
	_, _ = w.ResponseWriter.Write(body)
}
