#!/usr/bin/env bash
# Starts or stops a Docker daemon for bench's Docker tests on a machine without systemd (CI, this
# project's machines). The daemon gets its own pid file, data root and exec root under one state
# directory, so it never mixes with another daemon's images or containers, and it is stopped by
# its recorded pid only (never by name).
#
#   scripts/dockerd.sh start    start dockerd in the background; wait until `docker info` answers
#   scripts/dockerd.sh stop     stop the dockerd this script started (SIGTERM, then SIGKILL)
#   scripts/dockerd.sh status   exit 0 when a daemon answers on the socket
#
# Environment:
#   BENCH_DOCKERD_DIR     state directory (pid file, data-root, exec-root, log); default /var/tmp/bench-dockerd
#   BENCH_DOCKER_SOCKET   the socket the daemon listens on; default /var/run/docker.sock
#   BENCH_DOCKERD_WAIT    seconds to wait for `docker info`; default 60
#
# `start` when a daemon already answers on the socket does nothing (exit 0) and leaves it alone:
# `stop` only ever stops the daemon whose pid this script recorded.
set -euo pipefail

dir="${BENCH_DOCKERD_DIR:-/var/tmp/bench-dockerd}"
sock="${BENCH_DOCKER_SOCKET:-/var/run/docker.sock}"
wait_s="${BENCH_DOCKERD_WAIT:-60}"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"

answers() {
  # the client talks to exactly our socket, whatever DOCKER_HOST or a context says
  DOCKER_HOST="unix://$sock" timeout 10 docker info >/dev/null 2>&1
}

recorded_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  # a recycled pid is not ours: it must still be a dockerd
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ] || return 1
  echo "$pid"
}

start() {
  if answers; then
    echo "dockerd: a daemon already answers on $sock (left as it is)"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd: not installed; install it with: apt-get install -y docker.io" >&2
    return 3
  fi
  if pid="$(recorded_pid)"; then
    echo "dockerd: pid $pid from $pidfile runs but does not answer on $sock; stop it first: $0 stop" >&2
    return 1
  fi
  mkdir -p "$dir/data" "$dir/exec"
  # --pidfile is dockerd's own lock; our copy is written from $! so `stop` never depends on it
  nohup dockerd \
    --host "unix://$sock" \
    --data-root "$dir/data" \
    --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.lock.pid" \
    >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local pid
  pid="$(cat "$pidfile")"
  local deadline=$(($(date +%s) + wait_s))
  while ! answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dockerd: exited during start-up; last lines of $log:" >&2
      tail -n 15 "$log" >&2 || true
      rm -f "$pidfile"
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "dockerd: no answer on $sock after ${wait_s} s (pid $pid still runs; see $log)" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "dockerd: pid $pid answers on $sock (data root $dir/data, log $log)"
}

stop() {
  local pid
  if ! pid="$(recorded_pid)"; then
    rm -f "$pidfile"
    echo "dockerd: none started by this script"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # dockerd stops its containers (10 s grace each at most) and its own containerd before it exits
  for _ in $(seq 1 150); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    echo "dockerd: pid $pid still runs 30 s after SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    # a killed dockerd leaves the containerd it started: stop that one by its own pid file
    local cpid
    cpid="$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)"
    if [ -n "$cpid" ] && [ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = "containerd" ]; then
      kill -TERM "$cpid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  echo "dockerd: pid $pid stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then echo "dockerd: answers on $sock"; else echo "dockerd: no daemon on $sock"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
