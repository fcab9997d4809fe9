#!/usr/bin/env bash
# Starts AccountsApi on http://127.0.0.1:5000 (override with --urls or ASPNETCORE_URLS).
# Without DATABASE_URL the API starts (and on exit stops) its own PostgreSQL under .data/postgres,
# installing the PostgreSQL server package first if it is missing.
# Arguments are passed to the app, e.g. `./run.sh migrate` or `./run.sh --urls http://0.0.0.0:8080`.
# Settings are environment variables; see .env.example.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v dotnet >/dev/null 2>&1; then
    echo "run.sh: the .NET 10 SDK (dotnet) is required: https://dotnet.microsoft.com/download" >&2
    exit 1
fi

if [[ -z "${DATABASE_URL:-}" ]]; then
    # shellcheck source=scripts/ensure-postgres.sh
    source ./scripts/ensure-postgres.sh
    ensure_postgres
fi

if [[ -z "${ENVIRONMENT:-}" ]]; then
    export ENVIRONMENT=Development
    echo "run.sh: ENVIRONMENT is unset; using ENVIRONMENT=Development (the local dev default: non-Secure cookies," \
         "readable logs, mail written to .data/mail). Set ENVIRONMENT=Production for a real deployment." >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

exec dotnet run --project Api -- "$@"
