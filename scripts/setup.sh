#!/usr/bin/env bash
# Installs every Debian 12 package dxl needs, and only those that are missing (idempotent).
# Run as root (or with sudo available). Nothing is downloaded from outside Debian's archive.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache git
  # LibTorch (CPU) and an optimized BLAS: without libopenblas0-pthread LibTorch falls back to
  # the reference BLAS, 7-15x slower
  libtorch-dev libopenblas0-pthread libgloo-dev
  # the built-in default distillation corpus (/usr/share/games/fortunes, strfile format)
  fortunes
  # Qt 6 + QCustomPlot (Qt 6 build) for the studio and figure export
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  # HDF5 (C library + tools), JSON, regex (tokenizer pre-split with Unicode classes)
  libhdf5-dev hdf5-tools nlohmann-json3-dev libpcre2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # headless GUI runs and independent reference readers used by tests
  xvfb xauth python3-h5py python3-numpy python3-scipy poppler-utils
  # capture store: h5py's LZF filter for the HDF5 C library (the plugin needs liblzf, which it
  # does not declare; dxl preloads liblzf.so.1)
  hdf5-plugin-lzf liblzf1
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
