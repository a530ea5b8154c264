#!/usr/bin/env bash
# clang-check.sh — compiles every source file with clang, syntax only, as a second compiler
# that catches what gcc lets through: chiefly a goto that jumps past a variable with
# __attribute__((cleanup)) (gcc accepts it and frees garbage at scope exit; clang refuses
# it). One check per file; prints "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
CLANG=$(command -v clang || command -v clang-14 || true)
if [ -z "$CLANG" ]; then
	echo "FAIL clang is installed (scripts/install-deps)"
	echo "0 passed, 1 failed"
	exit 1
fi
FLAGS="-fsyntax-only -std=c17 -D_GNU_SOURCE -Isrc $(pkg-config --cflags libuv openssl jansson yaml-0.1 sqlite3 libcurl libarchive libnftables 2>/dev/null)"
out=$(find src -name '*.c' | sort | xargs -P 2 -I{} sh -c \
	"if e=\$($CLANG $FLAGS {} 2>&1 | grep -E 'error:'); then echo \"FAIL {}\"; echo \"\$e\" | sed 's/^/  /'; else echo 'ok   {}'; fi")
echo "$out" | grep -v '^ok' || true
p=$(echo "$out" | grep -c '^ok')
f=$(echo "$out" | grep -c '^FAIL')
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
