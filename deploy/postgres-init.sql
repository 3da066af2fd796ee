-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- Temporal's auto-setup creates its own `temporal` and `temporal_visibility` databases; the
-- worker's store lives beside them in a database of its own, so its migrations and the
-- DELETE-refusing triggers never touch Temporal's schema.
CREATE DATABASE personal_ops;
