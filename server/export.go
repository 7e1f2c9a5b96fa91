package server

import (
	"net/http"
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
