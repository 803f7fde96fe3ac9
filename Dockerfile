# Strata in a container: built on Debian bookworm against Debian's RocksDB.
#
#   docker build -t strata .
#   docker run -p 6380:6380 -v strata-data:/data strata
#
# The data lives in the /data volume. To use a configuration file, mount it and pass it:
#   docker run -v ./strata.toml:/etc/strata/strata.toml:ro ... strata \
#       server --config /etc/strata/strata.toml --addr 0.0.0.0:6380 --data-dir /data

# Must satisfy the go directive of go.mod.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librocksdb-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -o /out/strata ./cmd/strata

FROM debian:bookworm-slim
# librocksdb7.8 brings the compression libraries the binary links against.
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librocksdb7.8 \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --home-dir /data --shell /usr/sbin/nologin strata \
	&& mkdir -p /data /etc/strata \
	&& chown strata:strata /data
COPY --from=build /out/strata /usr/local/bin/strata
COPY etc/strata.toml /etc/strata/strata.toml
USER strata
VOLUME /data
EXPOSE 6380
STOPSIGNAL SIGTERM
ENTRYPOINT ["strata"]
CMD ["server", "--addr", "0.0.0.0:6380", "--data-dir", "/data"]
