# The Parallels support bot: `serve` as a non-root user, health-checked on /healthz.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes. Every
# package pinned and hash-checked (requirements.lock, written by `make lock`), wheels only,
# the build backend included so that the project builds without fetching anything else.
COPY requirements.lock ./
RUN pip install --require-hashes --only-binary :all: -r requirements.lock

# Then the code (the package data: catalogue, templates, migrations, desk pages).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY intents ./intents
COPY responses ./responses
COPY adapters ./adapters
RUN pip install --no-deps --no-build-isolation . \
 && pip check \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
 && mkdir -p /app/var \
 && chown bot /app/var

USER bot
EXPOSE 8080
ENV BOT_HOST=0.0.0.0 BOT_PORT=8080 BOT_LOG_FORMAT=json

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BOT_PORT', '8080'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]

# SIGTERM drains in-flight work (BOT_DRAIN_SECONDS) before the process exits.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "serve"]
