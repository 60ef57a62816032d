# One image for every esd service; the command picks the service (esd-orders, esd-gateway, ...).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock* ./
COPY libs ./libs
COPY services ./services
COPY cli ./cli
RUN uv sync --no-dev --inexact && useradd --system --uid 1000 esd
ENV PATH="/app/.venv/bin:$PATH"
USER esd
CMD ["esd-gateway"]
