# syntax=docker/dockerfile:1
#
# medimg container image.
#
#   docker build -t medimg .
#   docker run --rm -p 8080:8080 -v medimg-data:/var/lib/medimg/data medimg
#
# With no configuration the server keeps SQLite metadata and file blobs under
# ./data, relative to the working directory; WORKDIR is therefore the data
# volume's parent. For PostgreSQL and S3 set MEDIMG_DATABASE / MEDIMG_BLOBS
# (see docker-compose.yml and deploy/).

############################ build ############################
FROM golang:1.26-bookworm AS build

WORKDIR /src

# Module downloads are their own layer: they are rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# Pure Go (SQLite is modernc.org/sqlite), so a static binary that runs on a
# distroless/static base. If cgo codecs are ever linked in, CGO_ENABLED=1 and
# a glibc base (gcr.io/distroless/base-debian12 or cc-debian12) are needed.
# The cache mount only speeds up rebuilds; it is not part of the image.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/medimg ./cmd/medimg

# The data directory, created here because the final image has no shell; it is
# copied with the runtime user as owner so that a fresh named volume mounted
# on it (Docker copies the image's content and ownership into it) is writable.
RUN mkdir -p /out/data/blobs

############################ runtime ############################
# distroless/static rather than debian-slim: no shell, no package manager and
# no libc, only CA certificates (PostgreSQL TLS, S3 over HTTPS), tzdata and
# /etc/passwd with the "nonroot" user (UID/GID 65532). A static Go binary needs
# nothing else, and the attack surface and CVE noise are minimal. Debug with
# `kubectl debug` / an ephemeral container, or the :debug-nonroot tag (busybox).
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/medimg /usr/local/bin/medimg
COPY --from=build --chown=65532:65532 /out/data /var/lib/medimg/data

WORKDIR /var/lib/medimg
VOLUME /var/lib/medimg/data

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532

EXPOSE 8080

# No HEALTHCHECK: distroless has no shell and no curl/wget to run one, and the
# binary has no self-check subcommand. Orchestrators probe over HTTP instead:
# GET /healthz (liveness) and GET /readyz (readiness, 200 when the database
# answers); see deploy/kubernetes/deployment.yaml.

ENTRYPOINT ["/usr/local/bin/medimg"]
