# One image for the operator (`metrics-operator`) and the worker (`metrics-utility`).
# Build:  podman build -t metrics-utility:dev .      (or: docker build -t metrics-utility:dev .)
# Runs as a non-root user under any UID (OpenShift restricted-v2 assigns one; GID 0 owns what must be writable).

# ---- build stage: compilers and pip live only here ---------------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker/ worker/
COPY operator/ operator/
RUN /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/pip uninstall -y pip setuptools wheel

# ---- final stage: runtime only ----------------------------------------------------------------------------
FROM python:3.11-slim
LABEL org.opencontainers.image.title="metrics-utility" \
      org.opencontainers.image.description="AAP usage metrics: worker (metrics-utility) and Kubernetes operator (metrics-operator)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid 1001 --gid 0 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin metrics \
 && mkdir -p /metrics-utility \
 && chgrp -R 0 /metrics-utility \
 && chmod -R g=u /metrics-utility \
 && rm -rf /root/.cache
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 1001
WORKDIR /tmp
# The operator by default; CronJob pods set `command: [metrics-utility, ...]`.
CMD ["metrics-operator"]
