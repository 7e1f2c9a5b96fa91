# lookfor's container image: one static binary, the CA certificates, nothing else; runs as a
# non-root user. Build: `docker build -t lookfor .` (or podman/buildah) where the golang base
# image can be pulled; `make image` builds the same final stage from a binary compiled on the
# host when no base image can be downloaded (docs/deploy.md).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc, so the final stage can be empty.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/lookfor ./cmd/lookfor
# An empty folder the non-root user owns, for keys or files a deployment mounts (a named volume
# mounted there takes its owner from the image).
RUN mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/lookfor /lookfor
COPY --from=build --chown=65532:65532 /out/data /var/lib/lookfor
# 65532: the conventional "nonroot" id; no passwd file is needed for a numeric user.
USER 65532:65532
ENV LOOKFOR_GRPC_ADDR=:9090 LOOKFOR_HTTP_ADDR=:8080
EXPOSE 8080 9090
ENTRYPOINT ["/lookfor"]
CMD ["serve"]
