#!/usr/bin/env bash
# One entry point for a fresh clone:
#   ./dev.sh demo   set everything up, then train on the embedded default (synthetic loan table)
#   ./dev.sh test   set everything up, then check lint and format (ruff) and run the test suite in parallel
# Set-up is idempotent: a pinned uv (from PyPI) installs the locked dependencies (uv.lock)
# into .venv with this machine's python3 (3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"

UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy

setup() {
    local py
    py=$(command -v python3 || true)
    [ -n "$py" ] || { echo "dev.sh: python3 (3.11 or newer) is required" >&2; exit 2; }
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || { echo "dev.sh: python3 is $("$py" --version 2>&1); uptake needs 3.11 or newer" >&2; exit 2; }
    if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
        "$py" -m venv .tools
        .tools/bin/python -m pip install --quiet "uv==$UV_VERSION"
    fi
    # Bytecode is compiled at install: this environment may set PYTHONDONTWRITEBYTECODE, and
    # without .pyc files every `uptake` start recompiles Keras, JAX and scikit-learn (~20 s).
    .tools/bin/uv sync --frozen --quiet --compile-bytecode --python "$py"
}

browser() {
    # Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
    if ! command -v chromium >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "dev.sh: installing Debian's chromium for the browser tests" >&2
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
                || echo "dev.sh: could not install chromium; browser tests will be skipped" >&2
        else
            echo "dev.sh: no chromium and not root; browser tests will be skipped" >&2
        fi
    fi
}

case "${1:-}" in
    demo)
        shift
        setup
        exec .venv/bin/uptake train "$@"
        ;;
    test)
        shift
        setup
        browser
        .venv/bin/ruff check src tests bench
        .venv/bin/ruff format --check src tests bench
        # One worker per core; session fixtures (trained models) are built once per worker.
        exec .venv/bin/python -m pytest -n auto "$@"
        ;;
    setup)
        setup
        ;;
    *)
        echo "usage: ./dev.sh demo|test|setup [args...]" >&2
        exit 2
        ;;
esac
