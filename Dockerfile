# syntax=docker/dockerfile:1
# gate's own image: the admission webhook and signing service (`gate serve`), and the CLI.
# The Python base matches the version the test suite runs on (3.11); it is pinned by
# digest, so a rebuild gets the same base until the digest is bumped on purpose.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/gate
# Dependencies first: a source change keeps this layer cached.
COPY requirements.txt ./
RUN /opt/gate/bin/pip install --no-cache-dir -r requirements.txt
# gate_regorus (native/gate_regorus): the embedded engine's regorus binding, which evaluates
# without holding the GIL. Built in this stage only: a C linker from Debian, and Rust from
# the rustup wheel on PyPI (pinned) with a pinned toolchain; none of it reaches the image.
# Debian's gcc is left unpinned: its version follows the pinned base image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/opt/rustup \
    CARGO_HOME=/opt/cargo \
    PATH=/opt/rust/bin:/opt/cargo/bin:$PATH
RUN python -m venv /opt/rust \
 && /opt/rust/bin/pip install --no-cache-dir rustup==1.29.0.1 \
 && rustup toolchain install 1.95.0 --profile minimal \
 && rustup default 1.95.0
COPY native/gate_regorus ./native/gate_regorus
RUN /opt/gate/bin/pip install --no-cache-dir ./native/gate_regorus
COPY pyproject.toml README.md ./
COPY gate ./gate
RUN /opt/gate/bin/pip install --no-cache-dir --no-deps .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="gate" \
      org.opencontainers.image.description="Policy-as-code admission and attestation gate for container images" \
      org.opencontainers.image.source="https://github.com/gate-dev/gate" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/gate /opt/gate
COPY policies /etc/gate/policies
ENV PATH=/opt/gate/bin:$PATH \
    GATE_POLICIES=/etc/gate/policies \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["gate"]
CMD ["serve"]
