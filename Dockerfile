# One image for every esd process; the command picks it: esd-catalog, esd-orders, esd-credit,
# esd-keys, esd-billing, esd-gateway, `python -m deploy.vendor_stub`, or `esd <ops command>`.
# Build: docker build -t esd:latest .   (docker compose builds it for every service)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv>=0.5" \
    && useradd --system --uid 10001 --home-dir /app esd

WORKDIR /app
# the workspace: root manifest and lock, every member (each has its own pyproject.toml)
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY cli ./cli
COPY deploy/vendor_stub ./deploy/vendor_stub
# exactly the locked versions, without the dev group; fails if uv.lock is stale
# (owned by root: the processes run as esd and cannot change their own code)
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11

ENV PATH="/app/.venv/bin:$PATH" \
    ESD_METRICS_PORT=9100
USER esd
# 8080: gateway HTTP; 9100: /metrics, /health, /ready of every service; 8099: the vendor stub
EXPOSE 8080 9100 8099
CMD ["esd-gateway"]
