# Azora Ledger's service image, and (target `anvil`) a local chain for compose.yaml.
#
#   docker build -t azora-ledger .                    # the service
#   docker build --target anvil -t azora-anvil .      # anvil, from the pinned npm package
#
# BASE_IMAGE is any Debian bookworm image with Python 3.11 and its venv module (python:3.11-
# slim-bookworm, or one made from Debian's own packages where Docker Hub is out of reach).
# No secret is baked in: every key and password comes from the environment at run time.
ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: the pinned dependencies and the project, in a virtualenv ---------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# A compiler for the few pinned packages without a wheel (safe-pysha3).
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends build-essential python3-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/azora
COPY requirements.lock /tmp/requirements.lock
RUN /opt/azora/bin/pip install --no-input -r /tmp/requirements.lock
WORKDIR /app
COPY pyproject.toml README.md ./
COPY clients/python clients/python
COPY ledger ledger
COPY chain chain
COPY monetization monetization
COPY api api
COPY azora azora
COPY web web
COPY migrations migrations
COPY contracts/build contracts/build
# Editable: migrations/ and contracts/build/ are found beside the packages, as in a checkout.
RUN /opt/azora/bin/pip install --no-input --no-deps -e . -e clients/python \
    && /opt/azora/bin/python -m compileall -q /app

# --- the service ---------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS service
RUN groupadd --system --gid 10001 azora \
    && useradd --system --uid 10001 --gid azora --home-dir /var/lib/azora --create-home azora
COPY --from=build /opt/azora /opt/azora
COPY --from=build /app /app
COPY docker/entrypoint.sh /usr/local/bin/azora-entrypoint
ENV PATH=/opt/azora/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AZORA_HOST=0.0.0.0 \
    AZORA_PORT=8000 \
    AZORA_DATA_DIR=/var/lib/azora \
    AZORA_LOG_FORMAT=json
WORKDIR /var/lib/azora
USER azora:azora
VOLUME ["/var/lib/azora"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('AZORA_PORT', '8000')}/healthz\", timeout=2)"]
# Migrations first (`azora db upgrade`), then `azora serve`: what `make run` does.
ENTRYPOINT ["azora-entrypoint"]
CMD ["serve"]

# --- anvil, for compose.yaml's local chain (never needed by the service image) ------------
FROM ${NODE_IMAGE} AS anvil-package
WORKDIR /npm
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM ${BASE_IMAGE} AS anvil
RUN groupadd --system --gid 10001 anvil \
    && useradd --system --uid 10001 --gid anvil --home-dir /var/lib/anvil --create-home anvil
COPY --from=anvil-package /npm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil /usr/local/bin/anvil
USER anvil:anvil
WORKDIR /var/lib/anvil
VOLUME ["/var/lib/anvil"]
EXPOSE 8545
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
    CMD ["python3", "-c", "import json, urllib.request; r = urllib.request.Request('http://127.0.0.1:8545', json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'eth_chainId', 'params': []}).encode(), {'Content-Type': 'application/json'}); assert 'result' in json.load(urllib.request.urlopen(r, timeout=2))"]
ENTRYPOINT ["anvil", "--host", "0.0.0.0", "--port", "8545"]
CMD ["--state", "/var/lib/anvil/state.json", "--state-interval", "2"]

# The default target: the service.
FROM service
