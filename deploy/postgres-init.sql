-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- deploy/temporal-setup.sh (the temporal-schema container) creates Temporal's own `temporal` and
-- `temporal_visibility` databases; the worker's store lives beside them in a database of its own, so its migrations and the
-- DELETE-refusing triggers never touch Temporal's schema.
CREATE DATABASE personal_ops;
