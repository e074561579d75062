FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       poppler-utils curl \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock ./
# Compiled once here: every gunicorn and Celery process reads the bytecode
# (PYTHONDONTWRITEBYTECODE keeps them from writing it at run time).
RUN uv sync --frozen --no-dev --compile-bytecode
COPY . .
RUN .venv/bin/python -m compileall -q config core campaigns outbox signatures statements organisers \
    && DEBUG=true .venv/bin/python manage.py compile_translations \
    && DEBUG=true .venv/bin/python manage.py collectstatic --noinput \
    && useradd --create-home sitthi && mkdir -p /app/var/media && chown -R sitthi /app/var
USER sitthi
ENV PATH="/app/.venv/bin:$PATH" DEBUG=false STATIC_ROOT=/app/var/static MEDIA_ROOT=/app/var/media
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
