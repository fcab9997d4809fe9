#!/usr/bin/env bash
# Runs the whole test suite (Release). The test project starts its own throwaway PostgreSQL cluster
# (unless TEST_DATABASE_URL is set), so the only prerequisite is the PostgreSQL server package, which
# is installed here when missing. The last line printed is always "N passed, N failed".
# Extra arguments are passed to `dotnet test` (e.g. ./test.sh --filter "FullyQualifiedName~Auth").
# KEEP_TEST_RESULTS=1 keeps the .trx results folder (its path is printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v dotnet >/dev/null 2>&1; then
    echo "test.sh: the .NET 10 SDK (dotnet) is required: https://dotnet.microsoft.com/download" >&2
    echo "0 passed, 0 failed"
    exit 1
fi

if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
    # shellcheck source=scripts/ensure-postgres.sh
    source ./scripts/ensure-postgres.sh
    if ! ensure_postgres; then
        echo "0 passed, 0 failed"
        exit 1
    fi
fi

# The shared-rate-limit test starts a throwaway redis-server; if it cannot be installed, that test fails
# and says why, and everything else still runs.
# shellcheck source=scripts/ensure-redis.sh
source ./scripts/ensure-redis.sh
ensure_redis || echo "test.sh: redis-server is unavailable; the Redis rate-limit test will fail." >&2

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

results_dir="$(mktemp -d "${TMPDIR:-/tmp}/accountsapi-test-results.XXXXXX")"
cleanup() {
    if [[ -z "${KEEP_TEST_RESULTS:-}" ]]; then
        rm -rf -- "$results_dir"
    fi
}
trap cleanup EXIT

set +e
dotnet test AccountsApi.sln -c Release \
    --logger "trx;LogFileName=results.trx" \
    --logger "console;verbosity=normal" \
    --results-directory "$results_dir" \
    "$@"
test_exit=$?
set -e

# Sum the <Counters .../> element of every .trx file. An attribute is read as ` name="N"` (leading
# space, exact name) so that e.g. passedButRunAborted is not mistaken for passed.
counter() { # counter <file> <attribute>
    tr '\r\n\t' '   ' <"$1" \
        | grep -o '<Counters [^>]*>' \
        | head -n 1 \
        | grep -o " $2=\"[0-9]*\"" \
        | grep -o '[0-9][0-9]*' \
        || true
}

trx_files=0
passed=0
failed=0
while IFS= read -r -d '' trx; do
    trx_files=$((trx_files + 1))
    for attribute in passed failed error timeout aborted; do
        value="$(counter "$trx" "$attribute")"
        value="${value:-0}"
        if [[ "$attribute" == passed ]]; then
            passed=$((passed + value))
        else
            # Errored, timed-out and aborted tests count as failures.
            failed=$((failed + value))
        fi
    done
done < <(find "$results_dir" -type f -name '*.trx' -print0)

status=0
if [[ $test_exit -ne 0 ]]; then
    echo "test.sh: dotnet test exited with code $test_exit." >&2
    status=$test_exit
fi
if [[ $trx_files -eq 0 ]]; then
    echo "test.sh: no .trx results file was produced (the build or the test host failed before any test ran)." >&2
    status=1
elif [[ $((passed + failed)) -eq 0 ]]; then
    echo "test.sh: no test was executed (0 passed, 0 failed): treating this as a failure." >&2
    status=1
fi
if [[ $failed -gt 0 && $status -eq 0 ]]; then
    status=1
fi
if [[ -n "${KEEP_TEST_RESULTS:-}" ]]; then
    echo "test.sh: test results kept in $results_dir" >&2
fi

echo "$passed passed, $failed failed"
exit "$status"
