#!/usr/bin/env bash
# The system parts the tests talk to: a Docker engine (vfs storage, as this machine supports),
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
if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd (vfs storage) …"
  nohup dockerd --storage-driver=vfs >/tmp/cellserve-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start: see /tmp/cellserve-dockerd.log" >&2; exit 1; }
fi
