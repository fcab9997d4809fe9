#!/usr/bin/env bash
# Load benchmark for AccountsApi: builds the API and the bench in Release, then runs bench/Program.cs, which
# starts a throwaway PostgreSQL cluster and the API (Production settings, rate limits off) on free loopback
# ports, measures each scenario and prints a Markdown table on stdout (progress on stderr).
# Options (or env): --seconds N (BENCH_SECONDS, 10) --warmup N (BENCH_WARMUP_SECONDS, 2)
#                   --concurrency N (BENCH_CONCURRENCY, 32) --users N (BENCH_USERS, 200)
# Example: bench/run.sh --seconds 5 --concurrency 16
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
    echo "bench/run.sh: the .NET 10 SDK (dotnet) is required: https://dotnet.microsoft.com/download" >&2
    exit 1
fi

# shellcheck source=../scripts/ensure-postgres.sh
source scripts/ensure-postgres.sh && ensure_postgres 1>&2

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

# SkipOpenApi: do not regenerate the committed openapi.json as a side effect of benchmarking.
# Build output goes to stderr so that stdout is only the Markdown report.
dotnet build Api -c Release -p:SkipOpenApi=true --nologo -v quiet 1>&2
dotnet build bench -c Release -p:SkipOpenApi=true --nologo -v quiet 1>&2

exec dotnet bench/bin/Release/net10.0/Bench.dll "$@"
