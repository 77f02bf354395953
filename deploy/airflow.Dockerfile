# Airflow 3 with newswatch installed, for the scheduler (LocalExecutor: tasks run there),
# the dag-processor, the triggerer and the api-server. Build context: the repository root
#   docker build -f deploy/airflow.Dockerfile -t newswatch-airflow .
# (docker-compose.yml does this). What the context holds is listed in
# deploy/airflow.Dockerfile.dockerignore.
FROM apache/airflow:3.3.2-python3.11

# newswatch with the extras its tasks use: PostgreSQL, Elasticsearch and spaCy (the pipeline
# is a PyPI package, so nothing is downloaded when a task runs). Naming apache-airflow at the
# image's own version keeps pip from moving Airflow while it resolves newswatch's needs.
COPY --chown=airflow:0 pyproject.toml README.md /tmp/newswatch/
COPY --chown=airflow:0 core /tmp/newswatch/core
COPY --chown=airflow:0 ingest /tmp/newswatch/ingest
COPY --chown=airflow:0 enrich /tmp/newswatch/enrich
COPY --chown=airflow:0 stories /tmp/newswatch/stories
COPY --chown=airflow:0 search /tmp/newswatch/search
COPY --chown=airflow:0 alerts /tmp/newswatch/alerts
COPY --chown=airflow:0 api /tmp/newswatch/api
COPY --chown=airflow:0 web /tmp/newswatch/web
COPY --chown=airflow:0 newswatch /tmp/newswatch/newswatch
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/tmp/newswatch[postgres,es,nlp]" \
 && rm -rf /tmp/newswatch

# The DAGs (news_ingest, news_alerts, news_maintenance) are part of the image: rebuild it
# after changing them (`docker compose build`), or mount ./dags over this folder.
COPY --chown=airflow:0 dags /opt/airflow/dags

# Made here so they belong to the airflow user: the mount point of the `airflow-auth` volume
# (the simple auth manager's passwords file; a new volume takes over the folder's owner) and
# newswatch's data directory (NEWSWATCH_HOME).
RUN mkdir -p /opt/airflow/auth /opt/airflow/newswatch
