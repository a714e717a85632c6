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
