#!/usr/bin/env bash
# make bench-operator: the operator's Release build against the fake API server with PODS pods
# (metadata with managedFields) in NAMESPACES (500) namespaces and POLICIES (20) policies: time
# until every policy's status is correct, peak RSS, CPU per pod event under churn. Runs once per
# pod count in SCALES (default "1000 10000 50000") and prints how each figure grows: CPU per event
# should stay flat and memory grow with pods, not with pods x policies.
# Goals at 10,000 pods: statuses correct <= 10 s after start, peak RSS <= 150 MiB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init operator

SCALES=${SCALES:-${PODS:-1000 10000 50000}}
for pods in $SCALES; do
  [[ "$pods" =~ ^[1-9][0-9]*$ ]] || { echo "bench-operator: SCALES must be whole numbers of pods, got '$pods'" >&2; exit 2; }
done

bench_build operator
bench_build tests/bench/operator-bench.cs
: >"$WORK/results"
for pods in $SCALES; do
  echo "== $pods pods"
  dotnet run --no-build -c Release --file tests/bench/operator-bench.cs -- \
    operator/bin/Release/net10.0/sidecar-injector-operator.dll "$pods" "${NAMESPACES:-500}" "${POLICIES:-20}" | tee "$WORK/run.out"
  grep '^RESULT ' "$WORK/run.out" | cut -d' ' -f2- >>"$WORK/results"
done

awk '
  BEGIN { printf "\n%10s %14s %14s %16s %18s\n", "pods", "statuses (s)", "peak RSS MiB", "CPU/event (µs)", "RSS growth/1k pods" }
  { growth = NR > 1 ? sprintf("%.1f MiB", ($3 - rss) / (($1 - pods) / 1000)) : "-"
    printf "%10d %14.1f %14.1f %16d %18s\n", $1, $2, $3, $4, growth
    if (NR == 1) { cpu0 = $4; pods0 = $1 }
    pods = $1; rss = $3; cpu = $4 }
  END { if (NR > 1) printf "CPU per pod event at %d pods is %.2fx that at %d pods (flat = linear in pods)\n", pods, cpu / cpu0, pods0 }
' "$WORK/results"
