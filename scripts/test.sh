#!/usr/bin/env bash
# Builds tessera and runs every test: the Check suites on every backend
# present (the OpenCL ones must find a device: PoCL here), the same suites
# under ASan+UBSan, and valgrind memcheck of the I/O and prober suites.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSR_TEST_REQUIRE_OPENCL=ON >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure --verbose | grep -v -e "^[0-9]*: Test command" -e "^[0-9]*: Working Directory" -e "^[0-9]*: Environment variables" -e "^[0-9]*:  TSR_TEST\|^[0-9]*:  TESSERA_CACHE")

echo "== bench smoke test (no timing assertions)"
./build/tessera bench --suite quick --device cpu --quiet

echo "== install check"
prefix=$(mktemp -d)
cmake --install build --prefix "$prefix" >/dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig" pkg-config --exists tessera
"$prefix/bin/tessera" --version
rm -rf "$prefix"

echo "== ASan+UBSan build and tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=address,undefined -DTSR_TEST_REQUIRE_OPENCL=ON >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure)

echo "== valgrind memcheck (io, prober)"
for t in io prober; do
  valgrind -q --suppressions=tests/valgrind.supp --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --error-exitcode=99 "build/tests/test_$t" 2>&1 | grep -v -e '^hwloc' -e '^May be reenabled' -e '^and reloading'
  echo "valgrind test_$t: no leaks or memory errors"
done
