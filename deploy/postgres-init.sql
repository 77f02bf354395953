-- The second database on the stack's one PostgreSQL server: newswatch's state store.
-- The first one, Airflow's metadata database `airflow` (owner `airflow`, the server's
-- superuser), is created by the postgres image from POSTGRES_DB / POSTGRES_USER in
-- docker-compose.yml.
--
-- The image runs this file once, when the data volume is empty (/docker-entrypoint-initdb.d).
-- The password is for the local stack only: anywhere else change it
-- (ALTER ROLE newswatch PASSWORD '…') together with NEWSWATCH_DATABASE_URL.

CREATE ROLE newswatch LOGIN PASSWORD 'newswatch';

-- The owner may create tables in the database's public schema (PostgreSQL 15+ no longer lets
-- every role do that); `newswatch init` runs the Alembic migrations that create them.
CREATE DATABASE newswatch OWNER newswatch;

-- Only its owner (and the superuser) may connect.
REVOKE ALL ON DATABASE newswatch FROM PUBLIC;
