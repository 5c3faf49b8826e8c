#!/usr/bin/env bash
# make bench-operator: the operator's Release build against the fake API server with PODS pods
# (default 10000, metadata with managedFields) in NAMESPACES (500) namespaces and POLICIES (20)
# policies: time until every policy's status is correct, peak RSS, CPU per pod event under churn.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init operator

bench_build operator
bench_build tests/bench/operator-bench.cs
dotnet run --no-build -c Release --file tests/bench/operator-bench.cs -- \
  operator/bin/Release/net10.0/sidecar-injector-operator.dll "${PODS:-10000}" "${NAMESPACES:-500}" "${POLICIES:-20}"
