#!/usr/bin/env bash
# redis-benchmark -t set,get -c 50, with and without -P 16, in one run against:
#   direct      redis-server itself (the baseline)
#   twemproxy   nutcracker from Debian in front of the same redis-server
#   ambassador  the redis-ambassador sidecar (Release build) in front of the same redis-server
# and prints the throughputs and the ratios. Sizes: N (requests, default 100000) and PIPELINED_N
# (default 5 x N) for the -P 16 runs; CLIENTS (default 50); WARMUP_N (default 100000) requests before measuring;
# ROUNDS (default 5) interleaved rounds, whose mean is the result. Besides throughput it prints each
# proxy's CPU per command (utime+stime from /proc/PID/stat around each run), the steadier measure
# when the proxies, Redis and redis-benchmark share a few cores. POOL_SIZE (default 1, the sidecar's
# own default) sets the ambassador's poolSize.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_init ambassador
root=$PWD
N=${N:-100000}
PIPELINED_N=${PIPELINED_N:-$((N * 5))}
CLIENTS=${CLIENTS:-50}
WARMUP_N=${WARMUP_N:-100000}
ROUNDS=${ROUNDS:-5}
POOL_SIZE=${POOL_SIZE:-1}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-ambassador: ROUNDS must be a positive whole number, got '$ROUNDS'" >&2; exit 2; }
[[ "$POOL_SIZE" =~ ^[1-9][0-9]*$ ]] || { echo "bench-ambassador: POOL_SIZE must be a positive whole number, got '$POOL_SIZE'" >&2; exit 2; }

bench_require redis-server redis-benchmark redis-cli nutcracker dotnet python3
wait_port() {
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench-ambassador: nothing answers PING on port $1" >&2
  exit 1
}

redis_port=$(free_port); twem_port=$(free_port); twem_stats=$(free_port); amb_port=$(free_port); amb_admin=$(free_port)

bench_build sidecar-images/redis-ambassador

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_port "$redis_port"

cat >"$WORK/nutcracker.yml" <<YAML
bench:
  listen: 127.0.0.1:$twem_port
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  auto_eject_hosts: false
  servers:
   - 127.0.0.1:$redis_port:1
YAML
nutcracker -c "$WORK/nutcracker.yml" -s "$twem_stats" -a 127.0.0.1 -o "$WORK/nutcracker.log" &
twem_pid=$!
PIDS+=($twem_pid)
wait_port "$twem_port"

SIDECAR_CONFIG="{\"listen\":\"127.0.0.1:$amb_port\",\"upstream\":\"redis://127.0.0.1:$redis_port\",\"adminPort\":$amb_admin,\"poolSize\":$POOL_SIZE}" \
  Logging__LogLevel__Default=Warning \
  dotnet "$root/sidecar-images/redis-ambassador/bin/Release/net10.0/redis-ambassador.dll" >"$WORK/ambassador.log" 2>&1 &
amb_pid=$!
PIDS+=($amb_pid)
wait_port "$amb_port"

# The JIT warms up before measuring (tiered compilation with PGO takes about 100k commands before the
# hot paths are fully optimized; fewer leave the JIT compiling during the measurement); twemproxy and
# Redis need no warm-up but get the same. WARMUP_N (default 100000) sets it.
for port in "$twem_port" "$amb_port"; do
  redis-benchmark -p "$port" -t set,get -c "$CLIENTS" -n "$WARMUP_N" -q >/dev/null 2>&1
  redis-benchmark -p "$port" -t set,get -c "$CLIENTS" -n 100000 -P 16 -q >/dev/null 2>&1
done

declare -A rps cpu
clock_ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # name port mode round [proxy pid]
  local args=(-h 127.0.0.1 -p "$2" -t set,get -c "$CLIENTS" --csv) n=$N before
  if [ "$3" = "P16" ]; then n=$PIPELINED_N; args+=(-n "$n" -P 16); else args+=(-n "$n"); fi
  [ -z "${5:-}" ] || before=$(cpu_ticks "$5")
  while IFS=, read -r test value _; do
    test=${test//\"/}; value=${value//\"/}
    case "$test" in SET|GET) rps["$1/$3/$test/$4"]=$value ;; esac
  done < <(redis-benchmark "${args[@]}" 2>/dev/null)
  # SET and GET together: 2n commands.
  [ -z "${5:-}" ] || cpu["$1/$3/$4"]=$(( $(cpu_ticks "$5") - before )),$((2 * n))
}

# Single runs swing by +-20 % on a shared 2-core machine (the three proxies' runs are seconds apart,
# the neighbours' load is not), so the comparison is the mean over ROUNDS interleaved rounds; every
# other round runs the ambassador before twemproxy, so a drift in load favours neither.
for round in $(seq 1 "$ROUNDS"); do
  for mode in P1 P16; do
    run direct "$redis_port" "$mode" "$round"
    if [ $((round % 2)) -eq 1 ]; then
      run twemproxy "$twem_port" "$mode" "$round" "$twem_pid"; run ambassador "$amb_port" "$mode" "$round" "$amb_pid"
    else
      run ambassador "$amb_port" "$mode" "$round" "$amb_pid"; run twemproxy "$twem_port" "$mode" "$round" "$twem_pid"
    fi
  done
  echo "round $round/$ROUNDS done" >&2
done

echo
echo "redis-benchmark -t set,get -c $CLIENTS, -n $N (P1) / -n $PIPELINED_N (-P 16), ambassador poolSize $POOL_SIZE; requests per second, mean of $ROUNDS interleaved rounds"
printf '%-8s %-4s %12s %12s %12s %14s %14s %16s\n' mode cmd direct twemproxy ambassador amb/direct amb/twemproxy "rounds min-max"
for mode in P1 P16; do
  for cmd in SET GET; do
    values=()
    for round in $(seq 1 "$ROUNDS"); do
      values+=("${rps["direct/$mode/$cmd/$round"]}" "${rps["twemproxy/$mode/$cmd/$round"]}" "${rps["ambassador/$mode/$cmd/$round"]}")
    done
    python3 - "$mode" "$cmd" "${values[@]}" <<'PY'
import sys
mode, cmd, v = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3:]]
d, t, a = v[0::3], v[1::3], v[2::3]
mean = lambda xs: sum(xs) / len(xs)
per_round = [x / y for x, y in zip(a, t)]
print(f"{mode:<8} {cmd:<4} {mean(d):12.0f} {mean(t):12.0f} {mean(a):12.0f} {mean(a) / mean(d):14.2f} {mean(a) / mean(t):14.2f} {min(per_round):10.2f}-{max(per_round):.2f}")
PY
  done
done
echo
echo "CPU per command in the proxy (utime+stime over the rounds' SET and GET runs), microseconds"
printf '%-8s %12s %12s %14s\n' mode twemproxy ambassador amb/twemproxy
for mode in P1 P16; do
  samples=()
  for round in $(seq 1 "$ROUNDS"); do samples+=("${cpu["twemproxy/$mode/$round"]}" "${cpu["ambassador/$mode/$round"]}"); done
  python3 - "$mode" "$clock_ticks" "${samples[@]}" <<'PY'
import sys
mode, hz, pairs = sys.argv[1], float(sys.argv[2]), [tuple(map(float, x.split(","))) for x in sys.argv[3:]]
def per_command(xs):
    return sum(t for t, _ in xs) / hz / sum(n for _, n in xs) * 1e6
t, a = per_command(pairs[0::2]), per_command(pairs[1::2])
print(f"{mode:<8} {t:12.2f} {a:12.2f} {a / t:14.2f}")
PY
done
echo
echo "goal: amb/twemproxy >= 1.00 in both modes (throughput; lower CPU per command is better)"
