# Failing components: a crash, a non-zero exit, a timeout, retries, and what
# happens around them (downstream canceled, independent branches go on,
# nothing half written is published, no process left behind).
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P"
MARK="mlpipe-e2e-$$"
cat >"$P/pipe.yaml" <<YAML
pipeline: { name: f, root: runs, metadata: runs/m.db }
components:
  - id: src
    type: Command
    outputs: [o]
    params: { cmd: 'echo data > "\$MLPIPE_OUTPUT_O/x"' }
  - id: crash
    type: Command
    inputs: { i: src.o }
    outputs: [o]
    params: { cmd: 'echo half > "\$MLPIPE_OUTPUT_O/partial"; echo "about to crash" >&2; kill -SEGV \$\$' }
  - id: after_crash
    type: Command
    inputs: { i: crash.o }
    params: { cmd: 'touch $TMP/after_crash_ran' }
  - id: exits
    type: Command
    params: { cmd: 'echo "no such table: users" >&2; exit 3' }
  - id: slow
    type: Command
    timeout: 1
    params: { cmd: 'sleep 30 # $MARK' }
  - id: independent
    type: Command
    inputs: { i: src.o }
    outputs: [o]
    params: { cmd: 'echo fine > "\$MLPIPE_OUTPUT_O/y"' }
YAML
meta() { "$MLPIPE" meta --db "$P/runs/m.db" "$@"; }

start=$(date +%s)
expect_exit 1 "$MLPIPE" run "$P/pipe.yaml" -j 2
took=$(($(date +%s) - start))
[ "$took" -lt 10 ] && ok || not_ok "the timeout did not stop the sleeper in time ($took s)"
expect_out "crash       failed after"
expect_out "command killed by signal 11"
expect_out "exits       failed after"
expect_out "no such table: users"
expect_out "timed out after 1 s"
expect_out "after_crash canceled: upstream component 'crash' did not complete"
expect_out "independent ran in"
expect_out "f#1 FAILED"
expect_out "finish it:   mlpipe run"
[ ! -e "$TMP/after_crash_ran" ] && ok || not_ok "a component downstream of a failure ran"
sleep 0.2
pgrep -f "$MARK" >/dev/null && not_ok "the timed-out command is still running" || ok
[ -z "$(ls -A "$P/runs/f/.staging")" ] && ok || not_ok "staging not empty after failures"
[ ! -e "$P/runs/f/crash" ] && ok || not_ok "a failed component's partial output was published"

expect_exit 0 meta --json run last
expect_jq '.state == "FAILED"'
expect_jq '[.executions[] | {(.component): .state}] | add == {"src": "COMPLETE", "crash": "FAILED", "after_crash": "CANCELED", "exits": "FAILED", "slow": "FAILED", "independent": "COMPLETE"}'
expect_jq '.executions[] | select(.component == "crash") | .exit_reason | contains("killed by signal 11") and contains("about to crash")'
expect_jq '.executions[] | select(.component == "exits") | .exit_reason | startswith("command exited with status 3")'
expect_jq '.executions[] | select(.component == "slow") | .exit_reason | startswith("timed out after 1 s")'
# the log keeps the component's stderr and why it ended
grep -q "about to crash" "$P"/runs/f/.logs/*-crash.log && ok || not_ok "the crash's log lacks its stderr"

# retries: a component that fails once, then works
cat >"$P/flaky.yaml" <<YAML
pipeline: { name: flaky, root: runs, metadata: runs/m.db }
components:
  - id: flaky
    type: Command
    retries: 2
    outputs: [o]
    params: { cmd: 'n=\$(cat $TMP/count 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $TMP/count; echo "attempt \$n" > "\$MLPIPE_OUTPUT_O/a"; [ \$n -ge 2 ]' }
YAML
expect_exit 0 "$MLPIPE" run "$P/flaky.yaml"
expect_out "flaky failed after"
expect_out "flaky retrying (attempt 2 of 3)"
expect_out "flaky ran in"
[ "$(cat "$TMP/count")" = 2 ] && ok || not_ok "retries: ran $(cat "$TMP/count") times, wanted 2"
[ "$(cat "$P"/runs/flaky/flaky/o/*/a)" = "attempt 2" ] && ok || not_ok "the published output is not the successful attempt's"
# out of retries
echo -100 >"$TMP/count"
expect_exit 1 "$MLPIPE" run "$P/flaky.yaml" --no-cache
expect_out "flaky retrying (attempt 3 of 3)"
expect_exit 0 meta --json run last
expect_jq '.executions[0].exit_reason | startswith("attempt 3 of 3: command exited with status 1")'
[ "$(cat "$TMP/count")" = -97 ] && ok || not_ok "did not run 3 times"

# the store is consistent after all that
[ "$(sqlite3 "$P/runs/m.db" "PRAGMA integrity_check")" = ok ] && ok || not_ok "integrity check"
[ "$(sqlite3 "$P/runs/m.db" "SELECT count(*) FROM execution WHERE state = 'RUNNING'")" = 0 ] && ok || not_ok "executions left RUNNING"
finish
