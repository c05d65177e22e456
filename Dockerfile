# Build a static impactd and run it as a non-root user on a minimal base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/impactd ./cmd/impactd

FROM gcr.io/distroless/static-debian12:nonroot
# Time zones are compiled into the binary (time/tzdata); CA certificates for
# SMTP over TLS and the Stripe API come with the distroless base.
COPY --from=build /out/impactd /usr/local/bin/impactd
USER nonroot:nonroot
WORKDIR /home/nonroot
ENV IMPACTD_HTTP_ADDR=0.0.0.0:8080 \
    IMPACTD_DATABASE_URL=sqlite:/home/nonroot/impactd.db
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/impactd"]
CMD ["serve"]
