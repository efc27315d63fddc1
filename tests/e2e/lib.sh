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
