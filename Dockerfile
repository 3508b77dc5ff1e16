# glprobe's image: the static binary on a scratch base, plus a static shell, because GitLab
# runners start every job's `script:` with `sh` (a shell-less image cannot run a job). No
# ENTRYPOINT, so `sh -c` works and `docker run IMAGE glprobe …` too.
#
#   docker build -t glprobe .
#
# Every base image is an argument. The test suite builds this file offline with local stand-ins:
# SHELL_IMAGE a scratch image holding Debian's static busybox, BINARY_STAGE an image holding the
# binary it just built (so the `build` stage is skipped).

ARG RUST_IMAGE=docker.io/library/rust:1.95-alpine
ARG SHELL_IMAGE=docker.io/library/busybox:1.37-musl
ARG BINARY_STAGE=build

FROM ${RUST_IMAGE} AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/glprobe /glprobe

FROM ${BINARY_STAGE} AS binary

FROM ${SHELL_IMAGE} AS shell

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="glprobe" \
      org.opencontainers.image.description="Identify a GitLab token, validate it with one side-effect-free request, explain the verdict" \
      org.opencontainers.image.source="https://gitlab.com/glprobe/glprobe" \
      org.opencontainers.image.url="https://gitlab.com/glprobe/glprobe" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=shell /bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY --from=binary /glprobe /usr/local/bin/glprobe
ENV PATH=/usr/local/bin:/bin
WORKDIR /tmp
