#!/usr/bin/env bash
# `make image`: the container image of docs/deploy.md, built with what this machine has.
#
# It compiles the static binary the Dockerfile's build stage would (CGO_ENABLED=0), checks that it
# needs no libc, and builds the Dockerfile's final stage from it with Containerfile.prebuilt —
# FROM scratch, so no base image is downloaded — using buildah, podman or docker, whichever
# works here. The image is tagged lookfor:dev and also written to bin/lookfor-image.tar
# (docker-archive: `docker load -i` / `podman load -i` on another machine).
#
# Where the golang base image can be pulled, `docker build -t lookfor .` builds the same image
# from the Dockerfile alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tag=${IMAGE_TAG:-lookfor:dev}
ctx=bin/image
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

say() { printf 'image: %s\n' "$*" >&2; }

rm -rf "$ctx"
mkdir -p "$ctx"
say "compiling a static lookfor (CGO_ENABLED=0) into $ctx/lookfor"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/lookfor" ./cmd/lookfor
# A static binary has no program interpreter (no dynamic loader, no libc).
if command -v readelf >/dev/null 2>&1 && readelf -l "$ctx/lookfor" | grep -q 'Requesting program interpreter'; then
	say "error: $ctx/lookfor is dynamically linked; the scratch image has no libc"
	exit 1
fi
if [[ ! -r $ca ]]; then
	say "error: no CA bundle at $ca (install Debian's ca-certificates, or set CA_BUNDLE)"
	exit 1
fi
cp "$ca" "$ctx/ca-certificates.crt"
mkdir -p "$ctx/data" # becomes /var/lib/lookfor, owned by the image's non-root user
cp Containerfile.prebuilt "$ctx/Containerfile"
say "binary: $(du -h "$ctx/lookfor" | cut -f1)"

built=
if command -v buildah >/dev/null 2>&1; then
	say "building $tag with buildah"
	buildah bud --quiet -f "$ctx/Containerfile" -t "$tag" "$ctx" >/dev/null
	# Run the image's own file system (chroot isolation: no container runtime needed) once.
	ctr=$(buildah from "$tag")
	if ! buildah run --isolation chroot "$ctr" -- /lookfor --help >/dev/null; then
		buildah rm "$ctr" >/dev/null
		say "error: the image's /lookfor does not run"
		exit 1
	fi
	buildah rm "$ctr" >/dev/null
	say "ran /lookfor --help inside the image (buildah run --isolation chroot)"
	rm -f bin/lookfor-image.tar
	buildah push --quiet "$tag" "docker-archive:bin/lookfor-image.tar:$tag"
	built=buildah
elif command -v podman >/dev/null 2>&1; then
	say "building $tag with podman"
	podman build --quiet -f "$ctx/Containerfile" -t "$tag" "$ctx" >/dev/null
	rm -f bin/lookfor-image.tar
	podman save --quiet -o bin/lookfor-image.tar "$tag"
	built=podman
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	say "building $tag with docker"
	docker build --quiet -f "$ctx/Containerfile" -t "$tag" "$ctx" >/dev/null
	docker save -o bin/lookfor-image.tar "$tag"
	built=docker
fi
if [[ -z $built ]]; then
	say "no container builder works on this machine (no buildah or podman, and no docker daemon)."
	say "The binary the image would hold is $ctx/lookfor (static, checked above). To build the image,"
	say "install one: sudo apt-get install -y buildah   (or podman), then run make image again."
	exit 1
fi
say "built $tag with $built; saved to bin/lookfor-image.tar ($(du -h bin/lookfor-image.tar | cut -f1))"
