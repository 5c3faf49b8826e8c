#!/usr/bin/env bash
# make bench-webhook: wrk drives the webhook (/mutate, sample policies, pods that get a sidecar
# injected) and, in the same run on the same bodies, a no-op Kestrel HTTPS endpoint that only
# parses the review and echoes the uid. Two paths, each against the no-op: the cache hit (one
# Deployment pod review repeated; goal: throughput >= 0.9x the no-op's, p99 <= 1.5x) and the miss
# (DISTINCT StatefulSet pod reviews; goal: >= 0.7x, p99 <= 2x). Prints throughputs, p99 latencies
# and ratios. The miss path's pods must each be new to the webhook, as StatefulSet and Job pods are
# in a cluster: the cache keeps an answer only for a pod it has seen before (among the last 1,024
# it saw once), so 2,000 pods sent round and round would often come back while remembered and be
# cached on their second visit, which no real pod does. DISTINCT is therefore 20,000 by default.
# Tunables: DURATION (s, per run), CONNECTIONS, THREADS, ROUNDS (default 12, every other one with
# the webhook first; the result is the mean), DISTINCT (pods of the miss path, default 20000; over
# ten times the 1,024 pods the cache remembers), WARMUP (s per endpoint and path; a webhook in a cluster runs warm, and tiered
# compilation needs a few seconds of load to settle).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init webhook

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-12}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-webhook: ROUNDS must be a positive whole number, got '$ROUNDS'" >&2; exit 2; }
WARMUP=${WARMUP:-10}
DISTINCT=${DISTINCT:-20000}
[[ "$DISTINCT" =~ ^[0-9]+$ ]] && (( DISTINCT >= 10240 )) || { echo "bench-webhook: DISTINCT must be a whole number of at least 10240 (ten times the 1,024 pods the cache remembers, so that each comes back forgotten), got '$DISTINCT'" >&2; exit 2; }
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

# The hit path: one review again and again, so every answer after the first comes from the answer
# cache (a Deployment's replicas all arrive as the same pod). The miss path: distinct StatefulSet pods
# (web-0, web-1, ...), each wrk thread taking every THREADS-th of them, so a pod comes back only after
# all the others, long after the cache (1,024 answers) has started over: every answer is computed.
cat >"$WORK/same.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$REVIEW", "rb")); wrk.body = f:read("*a"); f:close()
LUA
python3 tests/bench/distinct-reviews.py "$REVIEW" "$DISTINCT" >"$WORK/distinct.ndjson"
cat >"$WORK/distinct.lua" <<LUA
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local bodies, next = {}, 0
local headers = { ["Content-Type"] = "application/json" }
function init(args)
  for line in io.lines("$WORK/distinct.ndjson") do bodies[#bodies + 1] = line end
  next = id
end
function request()
  local body = bodies[next % #bodies + 1]
  next = next + $THREADS
  return wrk.format("POST", nil, headers, body)
end
LUA
head -n 1 "$WORK/distinct.ndjson" >"$WORK/distinct-first.json"
curl -sf --cacert "$WORK/certs/tls.crt" -H 'Content-Type: application/json' --data-binary @"$WORK/distinct-first.json" "https://localhost:$WEBHOOK_PORT/mutate" | grep -q '"patchType":"JSONPatch"' \
  || { echo "bench-webhook: the webhook did not inject into the distinct benchmark pod" >&2; exit 1; }

# wrk prints e.g. "Requests/sec:  12345.67" and, with --latency, "     99%    1.23ms".
run() { # url seconds script -> "rps p99_ms"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency -s "$WORK/$3.lua" "$1" >"$WORK/wrk.out"
  grep -q "Non-2xx" "$WORK/wrk.out" && { echo "bench-webhook: non-2xx answers from $1" >&2; cat "$WORK/wrk.out" >&2; exit 1; }
  awk '/Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v); ms=(u=="us")?v/1000:(u=="s")?v*1000:v; p99=ms}
       END {printf "%s %.3f\n", rps, p99}' "$WORK/wrk.out"
}

echo "warming up..."
for script in same distinct; do
  run "https://127.0.0.1:$NOOP_PORT/mutate" "$WARMUP" "$script" >/dev/null
  run "https://127.0.0.1:$WEBHOOK_PORT/mutate" "$WARMUP" "$script" >/dev/null
done

# Every other round runs the webhook first, so drift in the machine's load favours neither; the
# no-op gets the same bodies as the webhook right before or after it.
: >"$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  order=(no-op webhook); (( round % 2 )) || order=(webhook no-op)
  for script in same distinct; do
    for who in "${order[@]}"; do
      port=$WEBHOOK_PORT; [[ $who == no-op ]] && port=$NOOP_PORT
      read -r r p < <(run "https://127.0.0.1:$port/mutate" "$DURATION" "$script")
      printf 'round %d  %-8s %-8s %10s req/s  p99 %s ms\n' "$round" "$script" "$who:" "$r" "$p"
      echo "$round $script $who $r $p" >>"$WORK/results"
    done
  done
done

awk -v n="$ROUNDS" -v c="$CONNECTIONS" -v d="$DURATION" -v k="$DISTINCT" '
  { rps[$2, $3] += $4; p99[$2, $3] += $5; round[$1, $2, $3] = $4 }
  function report(path, title, goal_rps, goal_p99,    i, x, lo, hi) {
    for (i = 1; i <= n; i++) { x = round[i, path, "webhook"] / round[i, path, "no-op"]; if (i == 1 || x < lo) lo = x; if (i == 1 || x > hi) hi = x }
    printf "\n%s\n", title
    printf "  no-op    throughput %10.0f req/s   p99 %7.3f ms\n", rps[path, "no-op"]/n, p99[path, "no-op"]/n
    printf "  webhook  throughput %10.0f req/s   p99 %7.3f ms\n", rps[path, "webhook"]/n, p99[path, "webhook"]/n
    printf "  ratio    throughput %10.2fx (goal >= %.2f)   p99 %6.2fx (goal <= %.2f)\n", rps[path, "webhook"]/rps[path, "no-op"], goal_rps, p99[path, "webhook"]/p99[path, "no-op"], goal_p99
    printf "  per-round throughput ratios %.2f to %.2f\n", lo, hi
  }
  END {
    printf "\nwebhook vs no-op HTTPS endpoint on the same bodies (%d rounds x %ds, %d keep-alive connections, mean of rounds)\n", n, d, c
    report("same", "cache hit: one Deployment pod review, repeated", 0.9, 1.5)
    report("distinct", sprintf("cache miss: %d distinct StatefulSet pod reviews", k), 0.7, 2.0)
  }' "$WORK/results"
