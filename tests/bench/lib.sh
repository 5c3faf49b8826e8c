# Sourced by the bench-*.sh scripts: what every benchmark needs before it measures anything.
# After `bench_init NAME` the shell is at the repository root, $WORK is a fresh scratch
# directory, and every PID added to PIDS is killed when the script exits, whatever happens.

bench_init() {
  cd "$(dirname "${BASH_SOURCE[1]}")/../.."
  WORK=$(mktemp -d "/tmp/bench-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# bench_require TOOL...: fail with one line naming the first missing tool.
bench_require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not found: run make deps (it installs the Debian packages)" >&2; exit 1; }
  done
}

# bench_build PROJECT: a quiet Release build, so what is measured is what ships.
bench_build() {
  echo "building $1 (Release)..."
  dotnet build "$1" -c Release -v quiet -nologo >/dev/null
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# rss_mib PID FIELD: a /proc/PID/status memory field (VmRSS, VmHWM, RssAnon, RssFile) in MiB.
rss_mib() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
