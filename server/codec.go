package server

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// textCodec is the gRPC server's codec: gRPC's protobuf codec, except for a request whose
// string fields hold invalid UTF-8. The protobuf runtime refuses to decode those, and gRPC would
// answer INTERNAL "failed to unmarshal" before any interceptor runs; textCodec instead decodes
// the request with those strings repaired and marks it with the first bad field's path, which
// checkText refuses as INVALID_ARGUMENT naming the field. A marked request never reaches a
// handler.
type textCodec struct{ encoding.CodecV2 }

func newTextCodec() textCodec { return textCodec{encoding.GetCodecV2(protocodec.Name)} }

// responseBuffers hold encoded responses until the transport has written them. gRPC's default
// pool jumps from 32 KiB straight to 1 MiB buffers, so a 100 KiB pull page held 1 MiB while it
// was sent; every power of two in between keeps what a response holds within twice its size.
var responseBuffers = func() mem.BufferPool {
	p, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22)
	if err != nil {
		panic(err)
	}
	return p
}()

// Marshal is gRPC's protobuf encoding into responseBuffers.
func (c textCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return c.CodecV2.Marshal(v)
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // safe: the size was computed just above
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := responseBuffers.Get(size)
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		responseBuffers.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, responseBuffers)}, nil
}

// badTextMark is the (otherwise unused) field number under which textCodec records, as an
// unknown field, the path of the first string that was not UTF-8.
const badTextMark protowire.Number = protowire.MaxValidNumber

func (c textCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	fixed, path, ok := repairUTF8(data.Materialize(), m.ProtoReflect().Descriptor(), "")
	if !ok || path == "" {
		return err
	}
	proto.Reset(m)
	if proto.Unmarshal(fixed, m) != nil {
		return err
	}
	r := m.ProtoReflect()
	mark := protowire.AppendTag(nil, badTextMark, protowire.BytesType)
	r.SetUnknown(append(r.GetUnknown(), protowire.AppendString(mark, path)...))
	return nil
}

// badTextPath returns the path textCodec marked m with, or "".
func badTextPath(m protoreflect.Message) string {
	b := m.GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == badTextMark && typ == protowire.BytesType {
			v, _ := protowire.ConsumeString(b)
			return v
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// repairUTF8 rewrites a message's wire bytes with every string field made valid UTF-8 and
// returns the path of the first one that was not; ok is false for bytes that do not parse.
func repairUTF8(b []byte, md protoreflect.MessageDescriptor, path string) (out []byte, first string, ok bool) {
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, "", false
		}
		tag := b[:n]
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, "", false
			}
			out = append(append(out, tag...), b[:n]...)
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, "", false
		}
		b = b[n:]
		if fd := md.Fields().ByNumber(num); fd != nil {
			p := joinPath(path, string(fd.Name()))
			if fd.IsList() {
				p += "[" + strconv.Itoa(seen[num]) + "]"
			}
			seen[num]++
			switch fd.Kind() {
			case protoreflect.StringKind:
				if !utf8.Valid(v) {
					v = []byte(strings.ToValidUTF8(string(v), "\uFFFD"))
					if first == "" {
						first = p
					}
				}
			case protoreflect.MessageKind:
				sub, subFirst, subOK := repairUTF8(v, fd.Message(), p)
				if !subOK {
					return nil, "", false
				}
				v = sub
				if first == "" {
					first = subFirst
				}
			}
		}
		out = protowire.AppendBytes(append(out, tag...), v)
	}
	return out, first, true
}
