#!/usr/bin/env bash
# Ships the same files of 200-byte lines (plain, then JSON) with the log shipper to a local NDJSON
# HTTP receiver, and with rsyslog (imfile -> omfwd over TCP) to a local TCP receiver, in one run.
# Prints MiB/s (wall), MiB per CPU-second, peak RSS (VmHWM), and how it splits: the peak of RssAnon
# (heap, runtime data; JIT code for the jit build) and RssFile at the end (pages of mapped files: the
# executable, or for the jit build the .NET runtime and assemblies; shared and reclaimable), and the
# shipper/rsyslog ratio.
# The shipper is measured as it ships: the Native AOT executable its Dockerfile publishes, run with
# the environment its Dockerfile sets (its ENV lines: the gen0 budget); its other runtime settings
# (thread pool) are built into the executable from the project.
# BENCH_BUILD=jit measures the framework-dependent dll instead (`dotnet build`, what the tests run),
# with DOTNET_EnableWriteXorExecute=0 added (it cuts the JIT build's start-up CPU and RSS).
#   BENCH_MB=1024 (default) sets the size of each file; BENCH_MAX_RECORDS the shipper's batch.maxRecords;
#   BENCH_BUILD (aot, the default, or jit); BENCH_EXE an already published AOT executable to measure
#   instead of publishing one (e.g. a previous run's, to iterate on the bench alone).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init log-shipper

MB=${BENCH_MB:-1024}
MAX_RECORDS=${BENCH_MAX_RECORDS:-10000}
BUILD=${BENCH_BUILD:-aot}
bench_require rsyslogd python3 curl
# The Dockerfile's ENV lines, read from it so that the two cannot drift apart.
read -r -a SHIPPER_ENV <<<"$(bench_dockerfile_env sidecar-images/log-shipper/Dockerfile)"
case "$BUILD" in
  aot)
    if [ -n "${BENCH_EXE:-}" ]; then
      SHIPPER=("$(realpath "$BENCH_EXE")")
    else
      bench_publish_aot sidecar-images/log-shipper log-shipper
      SHIPPER=("$AOT_EXE")
    fi ;;
  jit)
    bench_build sidecar-images/log-shipper
    SHIPPER=(dotnet sidecar-images/log-shipper/bin/Release/net10.0/log-shipper.dll)
    SHIPPER_ENV+=(DOTNET_EnableWriteXorExecute=0) ;;
  *) echo "BENCH_BUILD must be aot or jit" >&2; exit 1 ;;
esac
echo "shipper: $BUILD build, environment: ${SHIPPER_ENV[*]}"

echo "generating ${MB} MiB of 200-byte lines, plain and JSON, in $WORK..."
LINES=$(python3 - "$WORK" "$MB" <<'PY'
import sys
work, mb = sys.argv[1], int(sys.argv[2])
lines = mb * 1024 * 1024 // 200
pad = "x" * 200
with open(f"{work}/plain.log", "w") as plain, open(f"{work}/json.log", "w") as js:
    chunk_p, chunk_j = [], []
    for i in range(lines):
        p = f"{i:010d} INFO request handled path=/api/items status=200 "
        chunk_p.append(p + pad[: 199 - len(p)] + "\n")
        j = f'{{"seq":{i},"level":"info","msg":"request handled","path":"/api/items","status":200,"pad":"'
        chunk_j.append(j + pad[: 199 - len(j) - 2] + '"}\n')
        if len(chunk_p) == 10000:
            plain.write("".join(chunk_p)); js.write("".join(chunk_j)); chunk_p, chunk_j = [], []
    plain.write("".join(chunk_p)); js.write("".join(chunk_j))
print(lines)
PY
)
BYTES=$(stat -c %s "$WORK/plain.log")

# One receiver process: NDJSON over HTTP and newline-framed TCP; counts lines; GET /count answers.
cat > "$WORK/receiver.py" <<'PY'
import socketserver, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
lock = threading.Lock()
def add(n):
    global count
    with lock: count += n
class Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the second waits for the client's
    # delayed ACK (40 ms a request), which would measure the receiver, not the shipper.
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        add(body.count(b"\n"))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def do_GET(self):
        global count
        if self.path == "/reset":
            with lock: count = 0
        data = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(1 << 20)
            if not data: return
            add(data.count(b"\n"))
socketserver.ThreadingTCPServer.allow_reuse_address = True
tcp = socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[2])), Tcp)
threading.Thread(target=tcp.serve_forever, daemon=True).start()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Http).serve_forever()
PY
HTTP_PORT=$(free_port); TCP_PORT=$(free_port); HEALTH_PORT=$(free_port)
python3 "$WORK/receiver.py" "$HTTP_PORT" "$TCP_PORT" & PIDS+=($!)
until curl -sf "http://127.0.0.1:$HTTP_PORT/count" >/dev/null; do sleep 0.1; done

PEAK_ANON=0
wait_for_lines() { # pid: also samples its RssAnon into PEAK_ANON (KiB)
  local deadline=$((SECONDS + 1800)) anon
  PEAK_ANON=0
  until [ "$(curl -sf "http://127.0.0.1:$HTTP_PORT/count")" -ge "$LINES" ]; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $LINES lines" >&2; exit 1; }
    anon=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$1/status")
    [ "${anon:-0}" -le "$PEAK_ANON" ] || PEAK_ANON=$anon
    sleep 0.05
  done
}
# rss_split PID: the peak RssAnon sampled while waiting, and RssFile now, in MiB.
rss_split() { echo "$(awk -v k="$PEAK_ANON" 'BEGIN {printf "%.1f", k / 1024}') $(rss_mib "$1" RssFile)"; }
cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }

declare -A RESULT
run_shipper() { # name file
  local name=$1 file=$2
  rm -rf "$WORK/state"; curl -sf "http://127.0.0.1:$HTTP_PORT/reset" >/dev/null
  cat > "$WORK/shipper.json" <<JSON
{"paths":["$file"],"stateDir":"$WORK/state","healthPort":$HEALTH_PORT,
 "sink":{"type":"http","url":"http://127.0.0.1:$HTTP_PORT/ingest"},
 "batch":{"maxRecords":$MAX_RECORDS}}
JSON
  local start=$(date +%s.%N)
  env "${SHIPPER_ENV[@]}" "${SHIPPER[@]}" --config "$WORK/shipper.json" 2>"$WORK/shipper-$name.err" & local pid=$!; PIDS+=($pid)
  wait_for_lines $pid
  local end=$(date +%s.%N)
  RESULT[$name]="$(echo "$start $end" | awk -v b="$BYTES" '{printf "%.1f", b / 1048576 / ($2 - $1)}') $(cpu_seconds $pid) $(rss_mib $pid VmHWM) $(rss_split $pid)"
  kill -TERM $pid; wait $pid || true
}
run_rsyslog() { # name file
  local name=$1 file=$2
  rm -rf "$WORK/rsyslog"; mkdir -p "$WORK/rsyslog"; curl -sf "http://127.0.0.1:$HTTP_PORT/reset" >/dev/null
  cat > "$WORK/rsyslog/rsyslog.conf" <<CONF
global(workDirectory="$WORK/rsyslog" maxMessageSize="8k")
module(load="imfile")
main_queue(queue.size="100000")
input(type="imfile" file="$file" tag="app" ruleset="fwd")
ruleset(name="fwd") { action(type="omfwd" target="127.0.0.1" port="$TCP_PORT" protocol="tcp") }
CONF
  local start=$(date +%s.%N)
  rsyslogd -n -f "$WORK/rsyslog/rsyslog.conf" -i "$WORK/rsyslog/pid" 2>"$WORK/rsyslog-$name.err" & local pid=$!; PIDS+=($pid)
  wait_for_lines $pid
  local end=$(date +%s.%N)
  RESULT[$name]="$(echo "$start $end" | awk -v b="$BYTES" '{printf "%.1f", b / 1048576 / ($2 - $1)}') $(cpu_seconds $pid) $(rss_mib $pid VmHWM) $(rss_split $pid)"
  kill -TERM $pid; wait $pid || true
}

echo "files: $LINES lines, $((BYTES / 1048576)) MiB each; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
run_shipper shipper-plain "$WORK/plain.log"
run_rsyslog rsyslog-plain "$WORK/plain.log"
run_shipper shipper-json "$WORK/json.log"
run_rsyslog rsyslog-json "$WORK/json.log"

MIB=$(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1048576}')
printf '\n%-15s %10s %16s %14s %10s %10s\n' run "MiB/s" "MiB/CPU-second" "peak RSS MiB" "anon MiB" "file MiB"
for name in shipper-plain rsyslog-plain shipper-json rsyslog-json; do
  read -r rate cpu rss anon file <<<"${RESULT[$name]}"
  printf '%-15s %10s %16s %14s %10s %10s\n' "$name" "$rate" "$(awk -v m="$MIB" -v c="$cpu" 'BEGIN {printf "%.1f", m / c}')" "$rss" "$anon" "$file"
done
for kind in plain json; do
  read -r s _ _ <<<"${RESULT[shipper-$kind]}"; read -r r _ _ <<<"${RESULT[rsyslog-$kind]}"
  echo "ratio $kind (shipper / rsyslog MiB/s): $(awk -v s="$s" -v r="$r" 'BEGIN {printf "%.2fx", s / r}')"
done
