#!/usr/bin/env bash
# The exported dynamic symbols of libngvi.so: each must be a C ABI function declared in ngvi.h
# (ngvi_*) or belong to namespace ngvi (functions, vtables, type information); nothing of ngvi::detail
# or ngvi::math, and nothing of another namespace (std:: instantiations), may leave the library. And
# every function ngvi.h declares must be exported.
# Usage: capi_symbols.sh path/to/libngvi.so path/to/include/ngvi/ngvi.h
set -euo pipefail
library=$1
header=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mapfile -t symbols < <(nm -D --defined-only "$library" | awk '{print $NF}')
[ ${#symbols[@]} -gt 0 ] || fail "no exported symbols in $library"
declared=$(grep -oE 'NGVI_API [^;]*\bngvi_[a-z0-9_]+\(' "$header" | grep -oE 'ngvi_[a-z0-9_]+\($' | tr -d '(' | sort -u)

exported_c=()
for s in "${symbols[@]}"; do
  demangled=$(c++filt "$s")
  case "$s" in
    ngvi_*)
      exported_c+=("$s")
      grep -qx "$s" <<<"$declared" || fail "exported C symbol $s is not declared in ngvi.h" ;;
    _ZN4ngvi* | _ZNK4ngvi* | _ZTVN4ngvi* | _ZTIN4ngvi* | _ZTSN4ngvi*) ;;
    *) fail "exported symbol outside ngvi_ and namespace ngvi: $demangled ($s)" ;;
  esac
  case "$demangled" in
    *ngvi::detail::* | *ngvi::math::*) fail "internal symbol exported: $demangled" ;;
  esac
done
for f in $declared; do
  printf '%s\n' "${exported_c[@]}" | grep -qx "$f" || fail "ngvi.h declares $f but $library does not export it"
done

echo "${#symbols[@]} exported symbols, ${#exported_c[@]} of them the C ABI; $failures failures"
[ "$failures" -eq 0 ]
