#!/usr/bin/env bash
# Checks the include layers, builds tessera and runs every test: the Check
# suites on every backend present (the OpenCL ones must find a device: PoCL
# here), an install check, the same suites under ASan+UBSan, valgrind
# memcheck of the I/O and prober suites, and 30 s of libFuzzer per parser
# (FUZZ_SECONDS to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

# No #include may point up a layer (core < io, runtime < ops < pipeline <
# jobs/<job> < cli); the self-test checks the checker catches planted ones.
echo "== layer check"
scripts/check-layers.sh
scripts/check-layers.sh --self-test

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSR_TEST_REQUIRE_OPENCL=ON >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure --verbose | grep -v -e "^[0-9]*: Test command" -e "^[0-9]*: Working Directory" -e "^[0-9]*: Environment variables" -e "^[0-9]*:  TSR_TEST\|^[0-9]*:  TESSERA_CACHE")

echo "== bench smoke test (no timing assertions)"
./build/tessera bench --suite quick --device cpu --quiet

# Installs, then moves the install tree elsewhere (the package files must be
# relocatable) and builds tests/consumer against it with find_package and
# with pkg-config.
echo "== install check"
scratch=$(mktemp -d)
cmake --install build --prefix "$scratch/staged" >/dev/null
mv "$scratch/staged" "$scratch/moved"
prefix="$scratch/moved"
"$prefix/bin/tessera" --version
libdir=$(dirname "$(find "$prefix" -name 'libtessera.so' -print -quit)")
pcdir="$libdir/pkgconfig"
version=$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion tessera)
# (a) CMake: find_package(tessera <this version>), and a newer major is refused.
cmake -S tests/consumer -B "$scratch/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DTSR_WANT_VERSION="$version" >"$scratch/configure.log"
grep -q "^-- tessera $version from $prefix/" "$scratch/configure.log"
cmake --build "$scratch/consumer-cmake" >/dev/null
"$scratch/consumer-cmake/consumer" | tee "$scratch/out-cmake"
if cmake -S tests/consumer -B "$scratch/consumer-v99" -DCMAKE_PREFIX_PATH="$prefix" \
     -DTSR_WANT_VERSION=99.0 >/dev/null 2>&1; then
  echo "find_package(tessera 99.0) accepted tessera $version"; exit 1
fi
# (b) pkg-config, from the moved tree's tessera.pc.
pcflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs tessera)
# shellcheck disable=SC2086 # pcflags is a list of words
cc -std=c11 -Wall -Wextra -Werror -o "$scratch/consumer-pc" tests/consumer/main.c $pcflags
LD_LIBRARY_PATH="$libdir" "$scratch/consumer-pc" | tee "$scratch/out-pc"
# Both report the version the packages declare.
grep -qx "consumer ok: tessera $version" "$scratch/out-cmake"
grep -qx "consumer ok: tessera $version" "$scratch/out-pc"
rm -rf "$scratch"

echo "== ASan+UBSan build and tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=address,undefined -DTSR_TEST_REQUIRE_OPENCL=ON >/dev/null
cmake --build build-asan -j"$JOBS"
# LeakSanitizer's thread tracer can crash while it stops PoCL's threads at
# a test process's exit ("LeakSanitizer has encountered a fatal error"),
# now and then; only then are the failed suites run again (twice at most).
asan_log=$(mktemp)
rc=0
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure) >"$asan_log" 2>&1 || rc=$?
cat "$asan_log"
for retry in 1 2; do
  [ "$rc" -eq 0 ] && break
  grep -q "LeakSanitizer has encountered a fatal error" "$asan_log" || exit "$rc"
  echo "== LeakSanitizer's tracer crashed at a test's exit: the failed suites again ($retry of 2)"
  rc=0
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --rerun-failed --output-on-failure) >"$asan_log" 2>&1 || rc=$?
  cat "$asan_log"
done
[ "$rc" -eq 0 ] || exit "$rc"
rm -f "$asan_log"

echo "== valgrind memcheck (io, prober)"
for t in io prober; do
  valgrind -q --suppressions=tests/valgrind.supp --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --error-exitcode=99 "build/tests/test_$t" 2>&1 | grep -v -e '^hwloc' -e '^May be reenabled' -e '^and reloading'
  echo "valgrind test_$t: no leaks or memory errors"
done

echo "== fuzz smoke: ${FUZZ_SECONDS:-30} s per parser (clang, ASan+UBSan)"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
