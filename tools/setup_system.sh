#!/usr/bin/env bash
# The system parts the tests talk to: a Docker engine (overlay2 storage, or vfs where overlay2 cannot run),
# debootstrap, which makes the tests' base image since no image registry can be reached,
# and Chromium, which the browser tests drive through Playwright.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup_system: the tests need ${need[*]}; install them (as root) and start dockerd" >&2
    exit 1
  fi
  echo "Installing ${need[*]} …"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# overlay2 where the kernel and the filesystem under /var/lib/docker allow it (builds and `docker run` take
# seconds); vfs otherwise, which copies the whole image for every build step and every container.
start_dockerd() {
  nohup dockerd --storage-driver="$1" >/tmp/cellserve-dockerd.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null  # gone before another dockerd takes its pid file and socket
  return 1
}
if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd (overlay2 storage) …"
  if ! start_dockerd overlay2; then
    echo "overlay2 storage is not available here ($(tail -n 1 /tmp/cellserve-dockerd.log)); starting dockerd with vfs …"
    start_dockerd vfs || { echo "dockerd did not start: see /tmp/cellserve-dockerd.log" >&2; exit 1; }
  fi
fi
