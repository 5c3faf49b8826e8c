#!/usr/bin/env bash
# Prometheus adapter benchmark, all measured in one run on this machine:
#  1. /metrics latency with wrk for a document that becomes ~10,000 series, against the same
#     server's no-op /readyz as the baseline (the ratio is the cost of the series themselves);
#  2. parse + convert time of a 1 MiB JSON document (the adapter's own
#     prometheus_adapter_parse_duration_seconds, median of several polls), against Python's C
#     json.loads of the same bytes as the baseline;
#  3. the adapter's RSS (current and peak) after the load, split into private memory (RssAnon)
#     and mapped files (RssFile: pages of the executable, or of the .NET runtime and framework for
#     the jit build; shared and reclaimable);
#  4. the same /metrics load with the GC heap limit .NET sets in a container with a
#     BENCH_LIMIT_MIB memory limit (default 50: 75% of it), as in a pod, where every injected
#     container has a memory limit: p99, peak RSS, and whether it survived.
# The adapter is measured as it ships: the Native AOT executable its Dockerfile publishes
# (BENCH_BUILD=jit measures the framework-dependent dll instead, with DOTNET_EnableWriteXorExecute=0).
#   BENCH_SERIES (default 10000), BENCH_JSON_KB (default 1024), BENCH_SECONDS (wrk duration, default 10),
#   BENCH_BUILD (aot, the default, or jit).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init adapter

SERIES=${BENCH_SERIES:-10000}
JSON_KB=${BENCH_JSON_KB:-1024}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
BUILD=${BENCH_BUILD:-aot}
LIMIT_MIB=${BENCH_LIMIT_MIB:-50}
bench_require wrk python3 curl
case "$BUILD" in
  aot)
    bench_publish_aot sidecar-images/prometheus-adapter prometheus-adapter
    ADAPTER=("$AOT_EXE")
    # The GC settings of the Dockerfile's ENV, read from it so the two cannot drift apart.
    read -ra ADAPTER_ENV <<<"$(bench_dockerfile_env sidecar-images/prometheus-adapter/Dockerfile)"
    echo "adapter environment (from the Dockerfile): ${ADAPTER_ENV[*]}" ;;
  jit)
    bench_build sidecar-images/prometheus-adapter
    ADAPTER=(dotnet sidecar-images/prometheus-adapter/bin/Release/net10.0/prometheus-adapter.dll)
    ADAPTER_ENV=(DOTNET_EnableWriteXorExecute=0) ;;
  *) echo "BENCH_BUILD must be aot or jit" >&2; exit 1 ;;
esac

echo "generating documents in $WORK..."
python3 - "$WORK" "$SERIES" "$JSON_KB" <<'PY'
import json, sys
work, series, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Two numeric leaves per queue -> one series each (index label), plus a few top-level leaves.
queues = [{"name": f"queue-{i}", "depth": i % 97, "consumers": i % 7, "state": "running"} for i in range(series // 2)]
json.dump({"queues": queues, "uptimeSeconds": 1234, "healthy": True}, open(f"{work}/series.json", "w"))
# A 1 MiB document of nested service stats.
services, i = [], 0
while True:
    services.append({"name": f"svc-{i}", "healthy": i % 5 != 0, "description": "service with a \"quoted\" name\nand a newline",
                     "requests": {"total": i * 7919, "failed": i % 13, "avgLatencyMs": i * 0.5},
                     "pools": {"db": {"active": i % 10, "idle": 10 - i % 10}}, "tags": ["a", "b"], "owner": None})
    i += 1
    if i % 100 == 0 and len(json.dumps({"services": services})) >= kb * 1024:
        break
json.dump({"services": services}, open(f"{work}/big.json", "w"))
PY
BIG_BYTES=$(stat -c %s "$WORK/big.json")

SRC_PORT=$(free_port); ADAPTER_PORT=$(free_port); BIG_PORT=$(free_port)
(cd "$WORK" && exec python3 -m http.server "$SRC_PORT" --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
until curl -sf "http://127.0.0.1:$SRC_PORT/series.json" >/dev/null; do sleep 0.1; done

# The limits at their maximum: BENCH_SERIES and BENCH_JSON_KB may go past the defaults (30,000 series, 2 MiB).
start_adapter() { # port document [NAME=VALUE...]
  local port=$1 document=$2; shift 2
  SIDECAR_CONFIG="{\"source\":\"http://127.0.0.1:$SRC_PORT/$document\",\"listen\":\"127.0.0.1:$port\",\"pollIntervalSeconds\":1,\"maxDocumentBytes\":268435456,\"maxSeries\":10000000}" \
    Logging__LogLevel__Default=Warning env "${ADAPTER_ENV[@]}" "$@" "${ADAPTER[@]}" >"$WORK/adapter-$port.log" 2>&1 & PIDS+=($!)
  local deadline=$((SECONDS + 120))
  until curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^prometheus_adapter_source_up 1'; do
    [ $SECONDS -lt $deadline ] || { echo "adapter on $port did not come up" >&2; cat "$WORK/adapter-$port.log" >&2; exit 1; }
    sleep 0.2
  done
}
# wrk's "--latency" table: prints p50 and p99 in ms, and requests/s.
wrk_run() { # url [header]
  local args=(-t2 -c8 -d"${SECONDS_PER_RUN}s" --latency)
  [ $# -gt 1 ] && args+=(-H "$2")
  wrk "${args[@]}" "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
    END { printf "%.3f %.3f %.0f", p50, p99, rps }'
}

echo "build: $BUILD; load: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_adapter "$ADAPTER_PORT" series.json
ADAPTER_PID=${PIDS[-1]}
METRICS=$(curl -sf "http://127.0.0.1:$ADAPTER_PORT/metrics")
EXPOSED=$(awk '$1 == "prometheus_adapter_series" {print $2}' <<<"$METRICS")
echo "series exposed: $EXPOSED; /metrics body $(wc -c <<<"$METRICS") bytes"
read -r base50 base99 baserps <<<"$(wrk_run "http://127.0.0.1:$ADAPTER_PORT/readyz")"
read -r m50 m99 mrps <<<"$(wrk_run "http://127.0.0.1:$ADAPTER_PORT/metrics")"
read -r g50 g99 grps <<<"$(wrk_run "http://127.0.0.1:$ADAPTER_PORT/metrics" "Accept-Encoding: gzip")"
RSS=$(rss_mib "$ADAPTER_PID" VmRSS); HWM=$(rss_mib "$ADAPTER_PID" VmHWM)
ANON=$(rss_mib "$ADAPTER_PID" RssAnon); FILE=$(rss_mib "$ADAPTER_PID" RssFile)

start_adapter "$BIG_PORT" big.json
BIG_PID=${PIDS[-1]}
PARSES=()
for _ in 1 2 3 4 5 6 7; do
  sleep 1.1
  PARSES+=("$(curl -sf "http://127.0.0.1:$BIG_PORT/metrics" | awk '$1 == "prometheus_adapter_parse_duration_seconds" {printf "%.3f", $2 * 1000}')")
done
PARSE_MS=$(printf '%s\n' "${PARSES[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
BIG_SERIES=$(curl -sf "http://127.0.0.1:$BIG_PORT/metrics" | awk '$1 == "prometheus_adapter_series" {print $2}')
BIG_HWM=$(rss_mib "$BIG_PID" VmHWM); BIG_ANON=$(rss_mib "$BIG_PID" RssAnon)
PY_MS=$(python3 - "$WORK/big.json" <<'PY'
import json, statistics, sys, time
data = open(sys.argv[1], "rb").read()
runs = []
for _ in range(7):
    t = time.perf_counter(); json.loads(data); runs.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(runs):.3f}")
PY
)

# 4. Under a container memory limit: .NET gives the GC heap 75% of it (max 20 MiB).
LIMIT_PORT=$(free_port)
HEAP_LIMIT=$(( LIMIT_MIB * 1048576 * 3 / 4 ))
start_adapter "$LIMIT_PORT" series.json "DOTNET_GCHeapHardLimit=$(printf '%x' "$HEAP_LIMIT")"
LIMIT_PID=${PIDS[-1]}
read -r l50 l99 lrps <<<"$(wrk_run "http://127.0.0.1:$LIMIT_PORT/metrics")"
if kill -0 "$LIMIT_PID" 2>/dev/null && curl -sf "http://127.0.0.1:$LIMIT_PORT/metrics" >/dev/null; then
  LIMIT_STATE="survived"; LIMIT_HWM=$(rss_mib "$LIMIT_PID" VmHWM); LIMIT_ANON=$(rss_mib "$LIMIT_PID" RssAnon)
else
  LIMIT_STATE="DIED ($(tail -c 300 "$WORK/adapter-$LIMIT_PORT.log"))"; LIMIT_HWM=-; LIMIT_ANON=-
fi

printf '\n%-34s %10s %10s %12s\n' "/metrics ($EXPOSED series)" "p50 ms" "p99 ms" "requests/s"
printf '%-34s %10s %10s %12s\n' "baseline: /readyz, same server" "$base50" "$base99" "$baserps"
printf '%-34s %10s %10s %12s\n' "/metrics, text" "$m50" "$m99" "$mrps"
printf '%-34s %10s %10s %12s\n' "/metrics, gzip" "$g50" "$g99" "$grps"
echo "ratio p99 /metrics text / baseline: $(awk -v a="$m99" -v b="$base99" 'BEGIN {printf "%.2fx", a / b}')"
echo "goal p99 <= 5 ms: $(awk -v a="$m99" 'BEGIN {print (a <= 5 ? "met" : "NOT met")}') ($m99 ms)"
echo
echo "parse + convert of $BIG_BYTES bytes ($BIG_SERIES series), median of 7 polls: $PARSE_MS ms (samples: ${PARSES[*]})"
echo "baseline: python3 json.loads of the same bytes, median of 7: $PY_MS ms"
echo "ratio adapter / json.loads: $(awk -v a="$PARSE_MS" -v b="$PY_MS" 'BEGIN {printf "%.2fx", a / b}')"
echo
echo "RSS after load, 10k-series adapter: $RSS MiB (peak $HWM MiB) = $ANON MiB private (RssAnon) + $FILE MiB mapped files (RssFile: the executable, or for jit the .NET runtime and framework)"
echo "1 MiB-document adapter: peak RSS $BIG_HWM MiB, private $BIG_ANON MiB"
echo "under a $LIMIT_MIB MiB container limit (GC heap limit $(awk -v h="$HEAP_LIMIT" 'BEGIN {printf "%.1f", h / 1048576}') MiB): /metrics text p50 $l50 ms, p99 $l99 ms, $lrps req/s; peak RSS $LIMIT_HWM MiB (private now $LIMIT_ANON MiB); $LIMIT_STATE"
echo "goal RSS <= 50 MiB (no limit): $(awk -v a="$HWM" -v b="$BIG_HWM" 'BEGIN {print (a <= 50 && b <= 50 ? "met" : "NOT met")}')"
