# syntax=docker/dockerfile:1
#
# Maillage image: one image for every service; the Helm chart (deploy/k8s/maillage) runs
# `maillage up --only <service>` in each Deployment.
#
#   docker build -t maillage:0.1.0 .
#   docker run --read-only --tmpfs /tmp -v maillage-var:/var/lib/maillage \
#       -e AMQP_URI=amqp://... -e DATABASE_URL=postgresql+psycopg://... \
#       -p 8080:8080 maillage:0.1.0 up --only directory
#
# The root filesystem can be read-only: the only writable paths are /var/lib/maillage
# (MAILLAGE_VAR_DIR, a volume) and /tmp (mount a tmpfs/emptyDir).

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build ----
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A virtualenv at the same path in both stages, so its scripts' shebangs stay valid.
RUN python -m venv /opt/maillage
ENV PATH=/opt/maillage/bin:${PATH}

WORKDIR /src

# Pinned dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# Then the project itself, without resolving anything new: the lock is the truth.
COPY pyproject.toml ./
COPY services ./services
COPY schemas ./schemas
RUN pip install --no-deps . \
 # The event schemas and the AsyncAPI catalogue are read from <site-packages>/../schemas
 # (services/shared/bus/{schemas,catalogue}.py: parents[3] / "schemas"), which is the
 # site-packages directory once installed; the wheel does not carry them, so put them there.
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && cp -r schemas "${site}/schemas" \
 # Fail the build, not the pod, when requirements.lock misses a dependency of the project.
 && pip check \
 # Byte-code now: the runtime filesystem is read-only.
 && python -m compileall -q "${site}" \
 # Smoke test: the entry point imports and the bus catalogue is readable.
 && maillage --help > /dev/null \
 && python -c "from services.shared.bus.catalogue import subscriptions; subscriptions()"

# -------------------------------------------------------------- runtime ----
FROM ${PYTHON_IMAGE} AS runtime

ARG MAILLAGE_UID=10001
LABEL org.opencontainers.image.title="maillage" \
      org.opencontainers.image.description="Maillage health-interoperability platform (directory, messaging, dmp_bridge, coordination)"

RUN groupadd --system --gid "${MAILLAGE_UID}" maillage \
 && useradd --system --uid "${MAILLAGE_UID}" --gid "${MAILLAGE_UID}" \
        --home-dir /var/lib/maillage --no-create-home --shell /usr/sbin/nologin maillage \
 && mkdir -p /var/lib/maillage \
 && chown "${MAILLAGE_UID}:${MAILLAGE_UID}" /var/lib/maillage \
 && chmod 0750 /var/lib/maillage

COPY --from=build /opt/maillage /opt/maillage

ENV PATH=/opt/maillage/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/maillage \
    MAILLAGE_VAR_DIR=/var/lib/maillage \
    MAILLAGE_HTTP_ADDRESS=0.0.0.0:8080

WORKDIR /var/lib/maillage
VOLUME ["/var/lib/maillage"]

# HTTP (FHIR, /api/v1, /healthz, /readyz, /metrics) and HL7 v2 MLLP (coordination).
EXPOSE 8080 2575

# Numeric, so Kubernetes can verify runAsNonRoot without resolving the name.
USER ${MAILLAGE_UID}:${MAILLAGE_UID}

# No HEALTHCHECK: Kubernetes probes /healthz and /readyz.
ENTRYPOINT ["maillage"]
CMD ["up"]
