# `mlpipe run`: order, outputs, caching (unchanged, a param changed, an input
# file changed, --no-cache), --dry-run, `mlpipe dag`, and validation errors.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P"
TRACE=$TMP/trace
printf 'x,y\n1,2\n3,4\n' >"$P/input.csv"
cat >"$P/pipe.yaml" <<YAML
pipeline:
  name: demo
  root: runs
  metadata: runs/metadata.db
  params: { epochs: 2 }
components:
  - id: prep
    type: Command
    outputs: [data]
    params:
      cmd: 'echo prep >> $TRACE; cp input.csv "\$MLPIPE_OUTPUT_DATA/"'
      deps: [input.csv]
  - id: stats
    type: Command
    inputs: { rows: prep.data }
    outputs: [summary]
    params:
      cmd: 'echo stats >> $TRACE; wc -l < "\$MLPIPE_INPUT_ROWS/input.csv" > "\$MLPIPE_OUTPUT_SUMMARY/lines"; echo "lines \$(cat \$MLPIPE_OUTPUT_SUMMARY/lines)" > "\$MLPIPE_METRICS"'
      scale: 1
  - id: train
    type: Command
    inputs: { rows: prep.data, summary: stats.summary }
    outputs: [model]
    params:
      cmd: 'echo "train \$MLPIPE_PARAM_EPOCHS" >> $TRACE; for e in \$(seq \$MLPIPE_PARAM_EPOCHS); do echo "loss \$e 0.\$e" >> "\$MLPIPE_METRICS"; done; echo w > "\$MLPIPE_OUTPUT_MODEL/weights"'
      epochs: '\${pipeline.epochs}'
  - id: note
    type: Command
    after: [train]
    cache: false
    params: { cmd: 'echo note >> $TRACE' }
YAML
run() { "$MLPIPE" run "$P/pipe.yaml" "$@"; }
meta() { "$MLPIPE" meta --db "$P/runs/metadata.db" "$@"; }
trace() { tr '\n' ' ' <"$TRACE" | sed 's/ $//'; cp "$TRACE" "$TMP/last_trace"; : >"$TRACE"; }

# the first run runs everything, in order
expect_exit 0 run
[ "$(trace)" = "prep stats train 2 note" ] && ok || not_ok "first run's order"
expect_out "demo#1 COMPLETE"
expect_out "4 ran, 0 cached"
expect_out "look closer: mlpipe meta --db"
[ -f "$P/runs/demo/prep/data/1/input.csv" ] && ok || not_ok "prep's output not published where expected"
[ -z "$(ls -A "$P/runs/demo/.staging")" ] && ok || not_ok "staging not empty after a run"
expect_exit 0 meta --json run last
expect_jq '.executions | map(.state) == ["COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"]'
expect_jq '.executions[1].metrics | map(select(.name == "lines")) | .[0].value == 3'
expect_jq '[.executions[2].inputs[].name] | sort == ["rows", "summary"]'

# unchanged: only the uncached component runs
expect_exit 0 run
[ "$(trace)" = "note" ] && ok || not_ok "an unchanged rerun did work: $(cat "$TMP/last_trace")"
expect_out "prep  cached (from execution 1)"
expect_out "1 ran, 3 cached"
expect_exit 0 meta --json run last
expect_jq '.executions | map(.state) == ["CACHED", "CACHED", "CACHED", "COMPLETE"]'

# one param changed: that component and what depends on it
expect_exit 0 run --set train.epochs=3
[ "$(trace)" = "train 3 note" ] && ok || not_ok "a param change reran the wrong things"
expect_exit 0 run --set pipeline.epochs=3
[ "$(trace)" = "note" ] && ok || not_ok "the same value through a pipeline param should be cached"
# stats reruns; its output has the same content as before, so train, keyed
# by its inputs' content, still comes from the cache
expect_exit 0 run --set stats.scale=2
[ "$(trace)" = "stats note" ] && ok || not_ok "a stats param change: $(cat "$TMP/last_trace")"

# an input file's content changed: what reads it, and downstream
printf 'x,y\n1,2\n3,4\n5,6\n' >"$P/input.csv"
expect_exit 0 run
[ "$(trace)" = "prep stats train 2 note" ] && ok || not_ok "an input change did not rerun everything"
expect_exit 0 meta metrics --name lines
expect_out "4"

# --no-cache runs everything; per-component cache: false was seen above
expect_exit 0 run --no-cache
[ "$(trace)" = "prep stats train 2 note" ] && ok || not_ok "--no-cache still used the cache"

# --dry-run says what would happen and records nothing
runs_before=$(sqlite3 "$P/runs/metadata.db" "SELECT count(*) FROM execution")
expect_exit 0 run --dry-run
expect_out "prep  cached (from execution"
expect_out "note  would run"
expect_out "1 would run, 3 from the cache"
expect_exit 0 run --dry-run --set stats.scale=5
expect_out "stats would run"
expect_out "train would run (an input will be new)"
[ "$(trace)" = "" ] && ok || not_ok "a dry run ran something"
[ "$(sqlite3 "$P/runs/metadata.db" "SELECT count(*) FROM execution")" = "$runs_before" ] && ok || not_ok "a dry run recorded executions"

# a cached output whose files vanished is not reused; prep makes the same
# content again, so what reads it is still cached
rm -rf "$P/runs/demo/prep/data"
expect_exit 0 run
[ "$(trace)" = "prep note" ] && ok || not_ok "missing cached outputs were reused: $(cat "$TMP/last_trace")"
ls "$P"/runs/demo/prep/data/*/input.csv >/dev/null 2>&1 && ok || not_ok "prep's output was not made again"

# the store stays consistent
[ "$(sqlite3 "$P/runs/metadata.db" "PRAGMA integrity_check")" = ok ] && ok || not_ok "integrity check"
[ "$(sqlite3 "$P/runs/metadata.db" "SELECT count(*) FROM execution WHERE state = 'RUNNING'")" = 0 ] && ok || not_ok "executions left RUNNING"

# mlpipe dag draws levels, or Graphviz
expect_golden run_dag.txt "$MLPIPE" dag "$P/pipe.yaml"
expect_golden run_dag_dot.txt "$MLPIPE" dag --dot "$P/pipe.yaml"

# validation: every problem with file:line:column, exit 2, nothing created
cat >"$P/bad.yaml" <<'YAML'
pipeline:
  name: bad
  root: badruns
  metadata: badruns/m.db
components:
  - id: a
    type: Comand
    params: { cmd: x }
  - id: b
    type: Command
    inputs: { x: nope.out }
    retries: many
    params: { cmd: x }
YAML
expect_exit 2 "$MLPIPE" run "$P/bad.yaml"
grep -q "bad.yaml:7:11: unknown component type 'Comand' (did you mean 'Command'?)" "$TMP/err" && ok || not_ok "unknown type diagnostic"
grep -q "bad.yaml:11:18: input 'x' refers to 'nope'" "$TMP/err" && ok || not_ok "dangling reference diagnostic"
grep -q "bad.yaml:12:14: retries: 'many' is not an integer" "$TMP/err" && ok || not_ok "retries diagnostic"
grep -q "3 problems in the pipeline file; nothing was run" "$TMP/err" && ok || not_ok "problem count"
[ ! -e "$P/badruns" ] && ok || not_ok "a bad pipeline created files"
expect_exit 2 "$MLPIPE" run "$P/missing.yaml"
expect_err "cannot read pipeline file"
expect_exit 2 "$MLPIPE" run "$P/pipe.yaml" --set nope.epochs=3
expect_err "--set nope.epochs=3: no component has id 'nope'"
expect_exit 2 "$MLPIPE" run "$P/pipe.yaml" -j 0
expect_err "--jobs"
expect_exit 2 "$MLPIPE" run
expect_exit 2 "$MLPIPE" run "$P/pipe.yaml" --dry-run --resume last
expect_err "cannot be combined"
finish
