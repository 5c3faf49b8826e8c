#!/usr/bin/env bash
# make bench-webhook: wrk drives the webhook (/mutate, sample policies, a real Deployment pod
# AdmissionReview that gets a sidecar injected) and, in the same run, a no-op Kestrel HTTPS
# endpoint that only parses the review and echoes the uid. Prints both throughputs, both p99
# latencies and the ratios. Goal: throughput >= 0.9x the no-op's, p99 <= 1.5x.
# Tunables: DURATION (s, per round), CONNECTIONS, THREADS, ROUNDS (default 12, every other one with
# the webhook first; the result is the mean), WARMUP (s per endpoint; a webhook in a cluster runs
# warm, and tiered compilation needs a few seconds of load to settle).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init webhook

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-12}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-webhook: ROUNDS must be a positive whole number, got '$ROUNDS'" >&2; exit 2; }
WARMUP=${WARMUP:-10}
WEBHOOK_PORT=${WEBHOOK_PORT:-18443}
NOOP_PORT=${NOOP_PORT:-18444}
REVIEW=tests/SidecarInjector.Webhook.Tests/Fixtures/deployment-pod-opted-in.json

bench_require wrk
bench_build webhook
bench_build tests/bench/webhook-noop.cs

Webhook__SelfSignedCertificateDirectory="$WORK/certs" Webhook__ListenAddress=127.0.0.1 \
  dotnet webhook/bin/Release/net10.0/sidecar-injector-webhook.dll serve --port "$WEBHOOK_PORT" --policies crds/samples/ \
  >"$WORK/webhook.log" 2>&1 &
PIDS+=($!)
wait_for() { for _ in $(seq 1 120); do curl -sf --cacert "$WORK/certs/tls.crt" "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "bench-webhook: $1 did not come up" >&2; cat "$WORK/webhook.log" >&2; exit 1; }
wait_for "https://localhost:$WEBHOOK_PORT/readyz"
dotnet run --no-build -c Release --file tests/bench/webhook-noop.cs -- "$NOOP_PORT" "$WORK/certs/tls.crt" "$WORK/certs/tls.key" >"$WORK/noop.log" 2>&1 &
PIDS+=($!)
wait_for "https://localhost:$NOOP_PORT/healthz"

# Both endpoints must answer the review, and the webhook must actually inject.
curl -sf --cacert "$WORK/certs/tls.crt" -H 'Content-Type: application/json' --data-binary @"$REVIEW" "https://localhost:$WEBHOOK_PORT/mutate" | grep -q '"patchType":"JSONPatch"' \
  || { echo "bench-webhook: the webhook did not inject into the benchmark pod" >&2; exit 1; }
curl -sf --cacert "$WORK/certs/tls.crt" -H 'Content-Type: application/json' --data-binary @"$REVIEW" "https://localhost:$NOOP_PORT/mutate" | grep -q '"allowed":true'

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$REVIEW", "rb")); wrk.body = f:read("*a"); f:close()
LUA

# wrk prints e.g. "Requests/sec:  12345.67" and, with --latency, "     99%    1.23ms".
run() { # url seconds -> "rps p99_ms"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency -s "$WORK/post.lua" "$1" >"$WORK/wrk.out"
  grep -q "Non-2xx" "$WORK/wrk.out" && { echo "bench-webhook: non-2xx answers from $1" >&2; cat "$WORK/wrk.out" >&2; exit 1; }
  awk '/Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v); ms=(u=="us")?v/1000:(u=="s")?v*1000:v; p99=ms}
       END {printf "%s %.3f\n", rps, p99}' "$WORK/wrk.out"
}

echo "warming up..."
run "https://127.0.0.1:$NOOP_PORT/mutate" "$WARMUP" >/dev/null
run "https://127.0.0.1:$WEBHOOK_PORT/mutate" "$WARMUP" >/dev/null

# Every other round runs the webhook first, so drift in the machine's load favours neither.
: >"$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  order=(no-op webhook); (( round % 2 )) || order=(webhook no-op)
  for who in "${order[@]}"; do
    port=$WEBHOOK_PORT; [[ $who == no-op ]] && port=$NOOP_PORT
    read -r r p < <(run "https://127.0.0.1:$port/mutate" "$DURATION")
    printf 'round %d  %-8s %10s req/s  p99 %s ms\n' "$round" "$who:" "$r" "$p"
    echo "$round $who $r $p" >>"$WORK/results"
  done
done

awk -v n="$ROUNDS" -v c="$CONNECTIONS" -v d="$DURATION" '
  { rps[$2] += $3; p99[$2] += $4; round[$1, $2] = $3 }
  END {
    for (i = 1; i <= n; i++) { x = round[i, "webhook"] / round[i, "no-op"]; if (i == 1 || x < lo) lo = x; if (i == 1 || x > hi) hi = x }
    printf "\nwebhook vs no-op HTTPS endpoint (%d rounds x %ds, %d keep-alive connections, mean of rounds)\n", n, d, c
    printf "  no-op    throughput %10.0f req/s   p99 %7.3f ms\n", rps["no-op"]/n, p99["no-op"]/n
    printf "  webhook  throughput %10.0f req/s   p99 %7.3f ms\n", rps["webhook"]/n, p99["webhook"]/n
    printf "  ratio    throughput %10.2fx (goal >= 0.90)   p99 %6.2fx (goal <= 1.50)\n", rps["webhook"]/rps["no-op"], p99["webhook"]/p99["no-op"]
    printf "  per-round throughput ratios %.2f to %.2f\n", lo, hi
  }' "$WORK/results"
