# glprobe's image: the static binary on a scratch base, plus a static shell, because GitLab
# runners start every job's `script:` with `sh` (a shell-less image cannot run a job). No
# ENTRYPOINT, so `sh -c` works and `docker run IMAGE glprobe …` too.
#
#   docker build -t glprobe .
#   docker buildx build --platform linux/amd64,linux/arm64 -t glprobe .
#
# Nothing runs on the target platform but the `build` stage (skipped when BINARY_STAGE is
# given): the shell's applet links are made on the build machine's platform, so an arm64 image
# builds on amd64 without emulation. Docker sets BUILDPLATFORM; buildah 1.28 (Debian 12) needs
# it given: --build-arg BUILDPLATFORM=linux/amd64.
#
# Every base image is an argument. The test suite builds this file offline with local stand-ins:
# SHELL_IMAGE and LINKS_IMAGE a scratch image holding Debian's static busybox (for the target
# and for the build machine), BINARY_STAGE an image holding the binary it just built (so the
# `build` stage is skipped).

ARG RUST_IMAGE=docker.io/library/rust:1.95-alpine
ARG SHELL_IMAGE=docker.io/library/busybox:1.37-musl
ARG LINKS_IMAGE=docker.io/library/busybox:1.37-musl
ARG BINARY_STAGE=build

FROM ${RUST_IMAGE} AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY tests ./tests
RUN target="$(uname -m)-unknown-linux-musl" \
 && cargo build --release --locked --target "$target" \
 && cp "target/$target/release/glprobe" /glprobe

FROM ${BINARY_STAGE} AS binary

FROM ${SHELL_IMAGE} AS shell

# Last of the named stages: buildah 1.28 carries a FROM's --platform over to the FROMs after it.
FROM --platform=$BUILDPLATFORM ${LINKS_IMAGE} AS links
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir /links && cd /links && for a in $(/bin/busybox --list); do [ $a = busybox ] || /bin/busybox ln -s busybox $a; done"]

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
COPY --from=links /links/ /bin/
COPY --from=shell /bin/busybox /bin/busybox
COPY --from=binary /glprobe /usr/local/bin/glprobe
ENV PATH=/usr/local/bin:/bin
WORKDIR /tmp
