#!/bin/sh
# Prepares a Temporal server of deploy/temporal-server.yaml, in two steps that are safe to repeat:
#
#   temporal-setup.sh schema      create Temporal's two PostgreSQL databases and bring their
#                                 schemas to the latest version of this temporal-sql-tool (before
#                                 the server starts; a newer tool after an upgrade updates them)
#   temporal-setup.sh namespace   register the namespace the worker uses and our search attributes
#                                 (once the server is up), and wait until queries can use them
#
# docker-compose.yml runs it in the admin-tools image; `npm run test:production` runs the same file
# with the binaries provisioned on this machine. The variables are the server config's own.
set -eu

SQL_TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
CLI="${TEMPORAL_CLI:-temporal}"

schema() {
  for pair in "${TEMPORAL_DB_NAME:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}:visibility"; do
    database="${pair%%:*}"
    kind="${pair#*:}"
    echo "temporal-setup: schema $kind in database $database"
    set -- --plugin postgres12 --endpoint "${TEMPORAL_DB_HOST:-postgresql}" --port "${TEMPORAL_DB_PORT:-5432}" \
      --user "${TEMPORAL_DB_USER:-personal_ops}" --password "${TEMPORAL_DB_PASSWORD:-personal_ops}" --database "$database"
    "$SQL_TOOL" "$@" create-database
    # Version 0.0 only creates the versioning tables (skipped when they exist); the update then
    # applies every versioned step this tool embeds that the database has not had yet.
    "$SQL_TOOL" "$@" setup-schema -v 0.0
    "$SQL_TOOL" "$@" update-schema --schema-name "postgresql/v12/$kind"
  done
}

# src/definitions.ts CUSTOM_SEARCH_ATTRIBUTES, as name:type (test/deploy checks they agree).
SEARCH_ATTRIBUTES="OpsJob:Keyword OpsOutcome:Keyword"

namespace() {
  address="${TEMPORAL_ADDRESS:-temporal:7233}"
  name="${TEMPORAL_NAMESPACE:-default}"
  if "$CLI" operator namespace describe --address "$address" --namespace "$name" >/dev/null 2>&1; then
    echo "temporal-setup: namespace $name exists"
  else
    echo "temporal-setup: registering namespace $name"
    "$CLI" operator namespace create --address "$address" --namespace "$name" \
      --retention "${TEMPORAL_NAMESPACE_RETENTION:-168h}"
  fi
  # The worker registers these too, but a mapping just made reaches the frontend's namespace cache
  # seconds later, and a schedule created before then is refused ("no mapping defined for search
  # attribute OpsJob"). Made here and waited for, they are usable when the worker starts.
  # A new namespace, too, reaches every service's cache a few seconds after it is made.
  waited=0
  until existing="$("$CLI" operator search-attribute list --address "$address" --namespace "$name" 2>&1)"; do
    waited=$((waited + 1))
    if [ "$waited" -gt 120 ]; then echo "temporal-setup: namespace $name not usable after 60 s: $existing" >&2; exit 1; fi
    sleep 0.5
  done
  for pair in $SEARCH_ATTRIBUTES; do
    attribute="${pair%%:*}"
    if printf '%s\n' "$existing" | grep -qw "$attribute"; then continue; fi
    echo "temporal-setup: search attribute $attribute"
    "$CLI" operator search-attribute create --address "$address" --namespace "$name" \
      --name "$attribute" --type "${pair#*:}"
  done
  waited=0
  for pair in $SEARCH_ATTRIBUTES; do
    until "$CLI" workflow count --address "$address" --namespace "$name" --query "${pair%%:*} = 'setup-probe'" >/dev/null 2>&1; do
      waited=$((waited + 1))
      if [ "$waited" -gt 120 ]; then echo "temporal-setup: ${pair%%:*} still not usable after 60 s" >&2; exit 1; fi
      sleep 0.5
    done
  done
  echo "temporal-setup: namespace $name ready (after $waited waits of 0.5 s for the search attributes)"
}

case "${1:-}" in
  schema) schema ;;
  namespace) namespace ;;
  *) echo "usage: temporal-setup.sh schema|namespace" >&2; exit 2 ;;
esac
