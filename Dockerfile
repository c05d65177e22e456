# Build a static impactd and run it as a non-root user on a minimal base.
#
# Go 1.27.3: the Go 1.26.8 of the development machines has twelve
# standard-library vulnerabilities that govulncheck finds reachable
# (net/http, crypto/tls, crypto/x509, html/template …), fixed in 1.26.9,
# 1.26.10 and 1.27.3; the release is built with a fixed one. .ci/run builds
# and scans with the same version (RELEASE_GO there): change both together.
FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/impactd ./cmd/impactd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
# Time zones are compiled into the binary (time/tzdata); CA certificates for
# SMTP over TLS and the Stripe API come with the distroless base.
COPY --from=build /out/impactd /usr/local/bin/impactd
# /data holds what impactd keeps on disk: the SQLite database (the default;
# with PostgreSQL nothing) and a file:// outbox if one is configured. It is a
# volume, so it outlives the container: docker run -v impactd-data:/data …
# A new named volume takes this directory's owner (nonroot, uid 65532); a
# bind-mounted host directory must be writable by uid 65532.
COPY --from=build --chown=nonroot:nonroot /out/data /data
VOLUME ["/data"]
USER nonroot:nonroot
WORKDIR /data
ENV IMPACTD_HTTP_ADDR=0.0.0.0:8080 \
    IMPACTD_DATABASE_URL=sqlite:/data/impactd.db \
    IMPACTD_SMTP_URL=file:///data/outbox
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/impactd"]
CMD ["serve"]
