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

# bench_publish_aot PROJECT NAME: publish PROJECT as Native AOT into $WORK/publish (its own
# artifacts path, so the RID-specific restore and build stay out of the working tree) and set
# AOT_EXE to the executable. Links with clang, or with gcc where clang is not installed.
bench_publish_aot() {
  local linker=(); command -v clang >/dev/null || linker=(-p:CppCompilerAndLinker=gcc)
  echo "publishing $1 (Release, Native AOT; minutes)..."
  dotnet publish "$1" -c Release --use-current-runtime "${linker[@]}" \
    --artifacts-path "$WORK/artifacts" -o "$WORK/publish" -v quiet -nologo >"$WORK/publish.log" 2>&1 \
    || { tail -20 "$WORK/publish.log" >&2; exit 1; }
  AOT_EXE="$WORK/publish/$2"
}

# bench_dockerfile_env DOCKERFILE: the DOTNET_ variables its ENV lines set (one per line or
# several continued with backslashes), as NAME=VALUE words, so a bench runs what the image runs.
bench_dockerfile_env() {
  sed -n 's/^ENV //p; s/^    \(DOTNET_[A-Za-z0-9_]*=[^ ]*\).*/\1/p' "$1" | tr -d '\\' | tr '\n' ' '
}
