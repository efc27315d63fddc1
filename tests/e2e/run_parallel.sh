# -j N runs independent components at once; two pipelines running at the
# same time on one metadata store both succeed.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P"
# left and right each wait for the other to have started: only possible
# when both run at once
cat >"$P/meet.yaml" <<YAML
pipeline: { name: meet, root: runs, metadata: runs/m.db }
components:
  - id: left
    type: Command
    timeout: 5
    params: { cmd: 'touch $TMP/left; for i in \$(seq 100); do [ -e $TMP/right ] && exit 0; sleep 0.05; done; exit 1' }
  - id: right
    type: Command
    timeout: 5
    params: { cmd: 'touch $TMP/right; for i in \$(seq 100); do [ -e $TMP/left ] && exit 0; sleep 0.05; done; exit 1' }
  - id: join
    type: Command
    after: [left, right]
    params: { cmd: 'true' }
YAML
expect_exit 0 "$MLPIPE" run "$P/meet.yaml" -j 2
expect_out "3 ran"
# one at a time they cannot meet
rm -f "$TMP/left" "$TMP/right"
expect_exit 1 "$MLPIPE" run "$P/meet.yaml" -j 1 --no-cache
expect_out "join  canceled"

# two pipelines, one store, at the same time
for name in one two; do
	cat >"$P/$name.yaml" <<YAML
pipeline: { name: $name, root: runs, metadata: runs/shared.db }
components:
  - { id: s1, type: Command, outputs: [o], params: { cmd: 'echo $name > "\$MLPIPE_OUTPUT_O/v"; sleep 0.1' } }
  - { id: s2, type: Command, outputs: [o], inputs: { i: s1.o }, params: { cmd: 'cp "\$MLPIPE_INPUT_I/v" "\$MLPIPE_OUTPUT_O/"; sleep 0.1' } }
  - { id: s3, type: Command, outputs: [o], params: { cmd: 'echo 3 > "\$MLPIPE_OUTPUT_O/v"; echo "m 1" > "\$MLPIPE_METRICS"' } }
  - { id: s4, type: Command, inputs: { a: s2.o, b: s3.o }, params: { cmd: 'sleep 0.1' } }
  - { id: s5, type: Command, after: [s4], params: { cmd: 'true' } }
YAML
done
"$MLPIPE" run "$P/one.yaml" -j 2 >"$TMP/one.out" 2>&1 &
p1=$!
"$MLPIPE" run "$P/two.yaml" -j 2 >"$TMP/two.out" 2>&1 &
p2=$!
wait $p1 && ok || { not_ok "pipeline one failed"; cat "$TMP/one.out"; }
wait $p2 && ok || { not_ok "pipeline two failed"; cat "$TMP/two.out"; }
expect_exit 0 "$MLPIPE" meta --db "$P/runs/shared.db" --json runs
expect_jq 'map(.pipeline + ":" + .state) | sort == ["one:COMPLETE", "two:COMPLETE"]'
[ "$(sqlite3 "$P/runs/shared.db" "PRAGMA integrity_check")" = ok ] && ok || not_ok "integrity check"
[ "$(cat "$P"/runs/two/s2/o/*/v)" = two ] && ok || not_ok "outputs crossed between pipelines"
[ "$(sqlite3 "$P/runs/shared.db" "SELECT count(*) FROM execution WHERE state = 'COMPLETE'")" = 10 ] && ok || not_ok "not 10 complete executions"
finish
