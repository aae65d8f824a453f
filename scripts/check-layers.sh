#!/usr/bin/env bash
# Checks that no #include in the library points up a layer. Layers, lowest
# first:
#
#   src/core < src/io, src/runtime (siblings: neither includes the other)
#            < src/ops (with cpu/) < src/pipeline < src/jobs/<job> < src/cli
#
# A file may include its own layer and the layers below it; a job may not
# include another job's files. Project headers are included path-qualified
# from src/ ("core/internal.h", "jobs/split/split_impl.h"); unqualified
# includes may name only a header of the including file's own folder, a
# shared kernel header of cl/ ("warp.h", "tsr_types.h") or a generated header
# ("tsr_git.h"). Public headers ("tessera/*.h") may be included from
# anywhere. cl/ and include/tessera/ sit below everything: they may include
# only cl/ headers and public headers respectively. bench/ and tests/ are
# not checked (they may include anything).
#
#   scripts/check-layers.sh [ROOT]    check the tree at ROOT (default: this checkout)
#   scripts/check-layers.sh --self-test
#                                     plant known violations in scratch copies
#                                     of the tree and check each one is caught
#
# Prints one line per violation (file:line: the include, and why) and exits 1
# if there is any; 2 on a usage error.
set -euo pipefail

# Headers generated into the build folder, allowed from anywhere.
GENERATED="tsr_git.h"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

check() {
  local root=$1
  [[ -d "$root/src" ]] || { echo "check-layers: no src/ in $root" >&2; return 2; }
  cd "$root"
  local dirs=()
  for d in src cpu cl include; do [[ -d $d ]] && dirs+=("$d"); done
  # Input 1: every file in the checked folders (to resolve unqualified and
  # relative includes); input 2: every #include line, as file:line:text.
  # grep exits 1 when nothing matches: not an error here.
  { grep -rnE --include='*.c' --include='*.h' --include='*.cl' \
      '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "${dirs[@]}" || [[ $? == 1 ]]; } |
  LC_ALL=C awk -v generated="$GENERATED" '
    function dirname(p) { return sub(/\/[^\/]*$/, "", p) ? p : "." }
    # Folds "." and ".." out of a path.
    function normalize(p,   n, i, parts, out, k) {
      n = split(p, parts, "/"); k = 0
      for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == "..") { if (k > 0) k--; else return "../" p; continue }
        out[++k] = parts[i]
      }
      p = ""
      for (i = 1; i <= k; i++) p = p (i > 1 ? "/" : "") out[i]
      return p
    }
    # The layer of a repository path: "core", "io", "runtime", "ops",
    # "pipeline", "jobs/<job>", "cli", "cl", "public"; "" when in none.
    function layer_of(p,   a, n) {
      n = split(p, a, "/")
      if (a[1] == "cpu" && n >= 2) return "ops"
      if (a[1] == "cl" && n == 2) return "cl"
      if (a[1] == "include" && a[2] == "tessera" && n == 3) return "public"
      if (a[1] != "src" || n < 3) return ""
      if (a[2] == "jobs") return n >= 4 ? "jobs/" a[3] : ""
      if (a[2] ~ /^(core|io|runtime|ops|pipeline|cli)$/) return a[2]
      return ""
    }
    function rank(l) {
      if (l == "cl" || l == "public") return 0
      if (l == "core") return 1
      if (l == "io" || l == "runtime") return 2
      if (l == "ops") return 3
      if (l == "pipeline") return 4
      if (l ~ /^jobs\//) return 5
      if (l == "cli") return 6
      return -1
    }
    # Why "from" may not include a header of layer "to" ("" when it may).
    function forbidden(from, to) {
      if (to == "public") return ""
      if (to == "cl") return ""
      if (from == "cl") return "cl/ kernel headers may include only cl/ headers"
      if (from == "public") return "public headers may include only tessera/*.h"
      if (from == to) return ""
      if (rank(to) > rank(from))
        return from " may not include " to " (a higher layer)"
      if (rank(to) == rank(from))
        return from " may not include " to (from ~ /^jobs\// ? " (another job)" : " (a sibling layer)")
      return ""
    }
    function report(msg) { print where ": " text ": " msg; bad++ }

    FNR == NR { exists[$0] = 1; base = $0; sub(/.*\//, "", base); named[base] = named[base] " " $0; next }

    {
      # file:line:text (the file names here have no colons)
      file = $0; sub(/:.*/, "", file)
      rest = substr($0, length(file) + 2)
      lno = rest; sub(/:.*/, "", lno)
      text = substr(rest, length(lno) + 2)
      sub(/^[[:space:]]+/, "", text); sub(/[[:space:]]+$/, "", text)
      where = file ":" lno
      from = layer_of(file)
      if (from == "") { report("file is in no layer (add its folder to scripts/check-layers.sh)"); next }

      if (!match(text, /[<"][^>"]+[>"]/)) next
      quoted = substr(text, RSTART, 1) == "\""
      name = substr(text, RSTART + 1, RLENGTH - 2)
      dir = dirname(file)

      if (name ~ /^\.\.?\//) {
        # Relative: resolves against the including file.
        target = normalize(dir "/" name)
      } else if (name ~ /\//) {
        top = name; sub(/\/.*/, "", top)
        if (top == "tessera") next
        # Path-qualified from src/; anything else (<CL/cl.h>, <cjson/cJSON.h>)
        # is not a project header.
        if (top !~ /^(core|io|runtime|ops|pipeline|jobs|cli)$/) next
        target = "src/" normalize(name)
      } else {
        if (!quoted) next
        if ((dir "/" name) in exists) next           # own folder
        if (("cl/" name) in exists) { target = "cl/" name }
        else if (index(" " generated " ", " " name " ")) next
        else if (name in named) {
          report("unqualified include of project header" named[name] " (include it path-qualified)")
          next
        } else next                                   # not a project header
      }

      to = layer_of(target)
      if (to == "") {
        if (target ~ /^\.\.\// || target ~ /^(src|cpu|cl|include)\//)
          report("resolves to " target ", which is in no layer")
        next
      }
      if (to == "public" && name !~ /^tessera\//) {
        report("include public headers as \"tessera/...\"")
        next
      }
      why = forbidden(from, to)
      if (why != "") report(why)
    }
    END { exit bad ? 1 : 0 }
  ' <(find "${dirs[@]}" -type f | sed 's|^\./||') -
}

self_test() {
  local fails=0
  scratch=$(mktemp -d)  # global: the EXIT trap needs it
  trap 'rm -rf "$scratch"' EXIT
  mkdir "$scratch/clean"
  for d in src cpu cl include; do [[ -d "$here/$d" ]] && cp -r "$here/$d" "$scratch/clean/"; done
  if ! out=$(check "$scratch/clean"); then
    echo "self-test: the unmodified tree fails:"; echo "$out"; return 1
  fi
  # Each case: file to append to, the include line, a word the report must contain.
  local cases=(
    'src/core/context.c|#include "jobs/split/split_impl.h"|higher layer'
    'src/core/internal.h|#include "io/codec.h"|higher layer'
    'src/io/jpeg.c|#include "runtime/cl.h"|sibling'
    'src/runtime/launch.c|#include "io/codec.h"|sibling'
    'src/ops/warp.c|#include "pipeline/pipeline.h"|higher layer'
    'cpu/warp_cpu.c|#include "jobs/bench/bench.h"|higher layer'
    'src/pipeline/source.c|#include <jobs/split/split_impl.h>|higher layer'
    'src/jobs/split/split.c|#include "jobs/bench/bench.h"|another job'
    'src/jobs/bench/bench.c|#include "cli/cli.h"|higher layer'
    'src/core/image.c|#include "../ops/warp_impl.h"|higher layer'
    'src/core/image.c|#include "warp_impl.h"|unqualified'
    'src/ops/warp.c|#include "internal.h"|unqualified'
    'cl/warp.h|#include "core/internal.h"|cl/ kernel headers'
    'include/tessera/core.h|#include "core/internal.h"|public headers'
    'src/core/image.c|  #  include   "ops/remap.h"  /* spaced */|higher layer'
  )
  local c file line want n=0
  for c in "${cases[@]}"; do
    IFS='|' read -r file line want <<<"$c"
    n=$((n + 1))
    rm -rf "$scratch/t"; cp -r "$scratch/clean" "$scratch/t"
    printf '%s\n' "$line" >>"$scratch/t/$file"
    if out=$(check "$scratch/t"); then
      echo "self-test: not caught: $file: $line"; fails=$((fails + 1))
    elif ! grep -q "^$file:[0-9]*: .*$want" <<<"$out"; then
      echo "self-test: wrong report for $file: $line:"; echo "$out"; fails=$((fails + 1))
    fi
  done
  # Allowed from anywhere: public, cl/ and generated headers.
  rm -rf "$scratch/t"; cp -r "$scratch/clean" "$scratch/t"
  printf '#include "tessera/tessera.h"\n#include "tsr_types.h"\n#include "tsr_git.h"\n#include <stdio.h>\n' \
    >>"$scratch/t/src/core/status.c"
  if ! out=$(check "$scratch/t"); then
    echo "self-test: allowed includes reported:"; echo "$out"; fails=$((fails + 1))
  fi
  ((fails == 0)) || return 1
  echo "check-layers self-test: $n violations caught, allowed includes pass"
}

case "${1:-}" in
  --self-test) self_test ;;
  -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  -*) echo "usage: $0 [ROOT] | --self-test" >&2; exit 2 ;;
  *) check "${1:-$here}" ;;
esac
