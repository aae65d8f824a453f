#!/usr/bin/env bash
# Installs everything tessera needs to build and test on Debian/Ubuntu.
# Runs as root, or through sudo when it is available. --list prints the
# package names only (used by .ci/run).
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      opencl-headers ocl-icd-opencl-dev ocl-icd-libopencl1 pocl-opencl-icd clinfo
      libpng-dev libturbojpeg0-dev libjpeg-dev libcjson-dev libxxhash-dev
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
      check libsubunit-dev valgrind
      clang libclang-rt-dev libomp-dev bsdutils)
if [ "${1:-}" = "--list" ]; then echo "${PKGS[*]}"; exit 0; fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: not root and no sudo; install these by hand: ${PKGS[*]}" >&2
    exit 1
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
echo "install-deps: installed ${#PKGS[@]} packages"
