# Helpers for the end-to-end tests.  Source it; $MLPIPE is the binary under
# test, $HELPERS the folder of test helper programs.  Each check prints one
# line; `finish` exits non-zero when any check failed.
set -u
: "${MLPIPE:?set MLPIPE to the mlpipe binary}"
: "${HELPERS:?set HELPERS to the test helper folder}"
export TZ=UTC LC_ALL=C
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GOLDEN_DIR=$(cd "$E2E_DIR/../golden" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }

# expect_exit CODE CMD...: runs CMD, keeps stdout in $TMP/out and stderr in
# $TMP/err, and checks the exit status.
expect_exit() {
	local want=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		not_ok "exit $got (wanted $want): $*"; sed 's/^/  stderr: /' "$TMP/err" | head -5
	fi
}

# expect_err TEXT: the last command's stderr is one line containing TEXT.
expect_err() {
	if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -qF -- "$1" "$TMP/err"; then ok; else
		not_ok "stderr lacks '$1' or is not one line:"; sed 's/^/  /' "$TMP/err" | head -5
	fi
}

# expect_out TEXT: the last command's stdout contains TEXT.
expect_out() {
	if grep -qF -- "$1" "$TMP/out"; then ok; else not_ok "stdout lacks '$1'"; fi
}

# expect_golden NAME CMD...: CMD succeeds and prints tests/golden/NAME.
# UPDATE_GOLDEN=1 rewrites the file instead.
expect_golden() {
	local name=$1; shift
	expect_exit 0 "$@"
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then cp "$TMP/out" "$GOLDEN_DIR/$name"; return; fi
	if diff -u "$GOLDEN_DIR/$name" "$TMP/out" >"$TMP/diff"; then ok; else
		not_ok "output differs from golden/$name:"; head -20 "$TMP/diff"
	fi
}

# expect_jq FILTER: jq -e FILTER holds on the last command's stdout.
expect_jq() {
	if jq -e "$1" "$TMP/out" >/dev/null 2>&1; then ok; else not_ok "jq -e '$1' does not hold"; fi
}

finish() {
	echo "$(basename "$0"): $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# agree PRED OTHER TOL: two predictions files (CSV, a header line) give the
# same class, or value, row by row and every number within TOL (of its
# size past 1: float32 holds 7 digits of a regression in grams)
agree() {
	[ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] || { not_ok "$1 and $2 differ in length"; return; }
	paste -d, "$1" "$2" | awk -F, -v tol="$3" -v a="$1" -v b="$2" '
		NR == 1 { next }
		{ n = NF / 2; if ($1 ~ /[a-z]/ && $1 "" != $(n + 1) "") bad++
		  for (i = 1; i <= n; i++) { if ($i ~ /[a-z]/) continue; d = $i - $(n + i); if (d < 0) d = -d
			s = $i < 0 ? -$i : $i; if (s > 1) d /= s; if (d > m) m = d } }
		END { if (bad || m > tol) { printf "%s vs %s: %d differ, max difference %g\n", a, b, bad, m; exit 1 } }' &&
		ok || not_ok "predictions differ"
}

# exports_agree NAME DIR CSV PRED TOL_C TOL_ONNX: the model.c (compiled with
# nothing but cc and libm, run by export_main.c) and model.onnx (run in ONNX
# Runtime, when it is installed) of the Pusher's folder DIR predict CSV as
# predict did into PRED; their outputs are left in $TMP/NAME-c.csv and
# $TMP/NAME-onnx.csv
exports_agree() {
	local name=$1 dir=$2 csv=$3 pred=$4 ort=$E2E_DIR/../node
	mkdir -p "$TMP/$name-c"
	cp "$dir/model.c" "$dir/model.h" "$TMP/$name-c/"
	if cc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I "$TMP/$name-c" "$E2E_DIR/export_main.c" "$TMP/$name-c/model.c" \
		-lm -o "$TMP/$name-c/run" 2>"$TMP/cc.err"; then ok; else not_ok "$name: the exported C does not compile:"; head -5 "$TMP/cc.err"; fi
	"$TMP/$name-c/run" "$csv" >"$TMP/$name-c.csv" && ok || not_ok "$name: the C program failed"
	agree "$pred" "$TMP/$name-c.csv" "$5"
	if command -v node >/dev/null && [ -d "$ort/node_modules/onnxruntime-node" ]; then
		node "$ort/onnx_predict.js" "$dir/model.onnx" "$csv" >"$TMP/$name-onnx.csv" 2>"$TMP/node.err" && ok ||
			{ not_ok "$name: ONNX Runtime failed:"; head -5 "$TMP/node.err"; }
		agree "$pred" "$TMP/$name-onnx.csv" "$6"
	elif [ "${CI:-}" = true ]; then
		not_ok "onnxruntime-node is not installed: make deps installs it"
	fi
}
