# One image for the operator (`metrics-operator`) and the worker (`metrics-utility`), on Red Hat UBI 9.
# Build:  podman build -t metrics-utility:dev .      (or: docker build -t metrics-utility:dev .)
# Labels: --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=<repository URL>
#
# OpenShift restricted-v2: any UID works (the SCC assigns one, GID 0 owns what must be writable), and the root
# filesystem may be read-only. The process writes only to /tmp (HOME and TMPDIR; the chart and the operator mount
# an emptyDir there) and to the storage volumes the pods mount (/metrics-utility, /var/lib/metrics-utility).
# Python 3.12: RHEL 9 retired its Python 3.11 stream in May 2026; 3.12 is maintained there until May 2027.

# ---- build stage: the same base and Python RPM as the final stage, plus pip; only /opt/venv leaves it ---------
FROM registry.access.redhat.com/ubi9/ubi-minimal:9.8 AS build
# RPM versions are not pinned: the base tag fixes the RHEL minor release, and errata within it are wanted.
# hadolint ignore=DL3041
RUN microdnf --assumeyes --nodocs --setopt=install_weak_deps=0 install python3.12 python3.12-pip \
 && microdnf --assumeyes clean all
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker/ worker/
COPY operator/ operator/
# Every dependency ships binary wheels, so no compiler is needed. pip compiles each module to .pyc now, so the
# read-only venv never needs a bytecode write; pip itself is removed from the venv that ships.
RUN python3.12 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip uninstall --yes pip

# ---- final stage: UBI 9 minimal, the Python 3.12 RPM and the venv; no compiler, no pip, no package caches -------
FROM registry.access.redhat.com/ubi9/ubi-minimal:9.8
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="metrics-utility" \
      org.opencontainers.image.description="AAP usage metrics: worker (metrics-utility) and Kubernetes operator (metrics-operator)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="metrics-utility operator project" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="registry.access.redhat.com/ubi9/ubi-minimal:9.8"
# The venv's interpreter: the same RPM as in the build stage, so the venv's `home` (/usr/bin) matches.
# hadolint ignore=DL3041
RUN microdnf --assumeyes --nodocs --setopt=install_weak_deps=0 install python3.12 \
 && microdnf --assumeyes clean all \
 && rm -rf /var/cache/yum /var/cache/dnf /var/lib/dnf/history* \
 && mkdir -p /metrics-utility /var/lib/metrics-utility \
 && chgrp -R 0 /metrics-utility /var/lib/metrics-utility \
 && chmod -R g=u /metrics-utility /var/lib/metrics-utility
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 1001
WORKDIR /tmp
# The operator by default; CronJob pods set `command: [metrics-utility, ...]`.
CMD ["metrics-operator"]
