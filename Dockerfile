# Multi-stage build: a static gatekey binary on a minimal base image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gatekey ./cmd/gatekey

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatekey /usr/local/bin/gatekey
USER nonroot:nonroot
EXPOSE 8080
ENV GATEKEY_ADDR=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/gatekey"]
CMD ["serve"]
