# The orchestrator killed with SIGKILL mid-run, then --resume last: finished
# components are not redone, the store ends consistent, nothing half written
# stays.  SIGTERM: children stopped, the run CANCELED, then resumable.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P"
MARK="mlpipe-e2e-$$"
cat >"$P/pipe.yaml" <<YAML
pipeline: { name: k, root: runs, metadata: runs/m.db }
components:
  - id: a
    type: Command
    outputs: [o]
    params: { cmd: 'echo a >> $TMP/trace; echo A > "\$MLPIPE_OUTPUT_O/x"' }
  - id: b
    type: Command
    inputs: { i: a.o }
    outputs: [o]
    params: { cmd: 'echo b >> $TMP/trace; echo half > "\$MLPIPE_OUTPUT_O/y"; touch $TMP/b_started; [ -e $TMP/release ] || sleep 60 # $MARK' }
  - id: c
    type: Command
    inputs: { i: b.o }
    params: { cmd: 'echo c >> $TMP/trace' }
YAML
meta() { "$MLPIPE" meta --db "$P/runs/m.db" "$@"; }
wait_for() { local i; for i in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
count() { grep -c "^$1\$" "$TMP/trace"; }
q() { sqlite3 "$P/runs/m.db" "$1"; }

# SIGKILL the orchestrator while b runs
"$MLPIPE" run "$P/pipe.yaml" >"$TMP/run1.out" 2>&1 &
pid=$!
wait_for "$TMP/b_started" && ok || not_ok "b never started"
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.3
pgrep -f "$MARK" >/dev/null && not_ok "b's command outlived the killed orchestrator" || ok
[ "$(q "SELECT state FROM context WHERE name = 'k#1'")" = RUNNING ] && ok || not_ok "the killed run is not left RUNNING"
[ -n "$(ls -A "$P/runs/k/.staging")" ] && ok || not_ok "expected b's staging folder after the kill"

# resume: the dead owner is detected, b is marked FAILED, a is reused
touch "$TMP/release"
rm -f "$TMP/b_started"
expect_exit 0 "$MLPIPE" run "$P/pipe.yaml" --resume last
expect_out "resuming pipeline 'k'"
expect_out "a done before (execution 1)"
expect_out "b ran in"
expect_out "k#1 COMPLETE"
[ "$(count a) $(count b) $(count c)" = "1 2 1" ] && ok || not_ok "resume redid work: a=$(count a) b=$(count b) c=$(count c)"
expect_exit 0 meta --json run k#1
expect_jq '.state == "COMPLETE"'
expect_jq '[.executions[] | .component + ":" + .state] == ["a:COMPLETE", "b:FAILED", "b:COMPLETE", "c:COMPLETE"]'
expect_jq '.executions[1].exit_reason == "the orchestrator stopped before it finished"'
[ -z "$(ls -A "$P/runs/k/.staging")" ] && ok || not_ok "staging not cleaned by the resume"
[ "$(ls "$P/runs/k/b/o" | wc -l)" = 1 ] && ok || not_ok "more than one published output of b"
[ "$(q "PRAGMA integrity_check")" = ok ] && ok || not_ok "integrity check"
[ "$(q "SELECT count(*) FROM execution WHERE state = 'RUNNING'")" = 0 ] && ok || not_ok "executions left RUNNING"
# c read b's new output, not the half written one
expect_exit 0 meta --json run k#1
expect_jq '(.executions[3].inputs[0].id) == (.executions[2].outputs[0].id) and (.executions[3].inputs[0].id | type) == "number"'

# resuming a run that is still running elsewhere is refused
rm -f "$TMP/release" "$TMP/b_started"
"$MLPIPE" run "$P/pipe.yaml" --no-cache >"$TMP/run2.out" 2>&1 &
pid=$!
wait_for "$TMP/b_started" && ok || not_ok "b never started (second run)"
expect_exit 1 "$MLPIPE" run "$P/pipe.yaml" --resume last
expect_err "pipeline 'k' is running (pid $pid on"

# SIGTERM: b is stopped, c never starts, the run is CANCELED
kill -TERM $pid
wait $pid
[ $? -eq 1 ] && ok || not_ok "a stopped run should exit 1"
grep -q "stopping the run" "$TMP/run2.out" && ok || not_ok "no word about stopping"
grep -q "b canceled: stopped by signal 15" "$TMP/run2.out" && ok || not_ok "b not reported as canceled"
sleep 0.3
pgrep -f "$MARK" >/dev/null && not_ok "b's command outlived SIGTERM" || ok
[ "$(q "SELECT state FROM context WHERE name = 'k#2'")" = CANCELED ] && ok || not_ok "the run is not CANCELED"
expect_exit 0 meta --json run k#2
expect_jq '[.executions[] | .component + ":" + .state] == ["a:COMPLETE", "b:CANCELED", "c:CANCELED"]'
[ -z "$(ls -A "$P/runs/k/.staging")" ] && ok || not_ok "staging not empty after SIGTERM"

# and it can be finished
touch "$TMP/release"
expect_exit 0 "$MLPIPE" run "$P/pipe.yaml" --resume k#2
expect_out "k#2 COMPLETE"

# resuming a COMPLETE run does nothing, and says so
expect_exit 0 "$MLPIPE" run "$P/pipe.yaml" --resume k#2
expect_out "run k#2 is already COMPLETE: nothing to do"
[ "$(q "SELECT count(*) FROM execution e JOIN association a ON a.execution_id = e.id JOIN context r ON r.id = a.context_id WHERE r.name = 'k#2'")" = 5 ] && ok || not_ok "resuming a COMPLETE run recorded executions"

# a new run closes a run whose orchestrator died, instead of leaving it RUNNING
rm -f "$TMP/release" "$TMP/b_started"
"$MLPIPE" run "$P/pipe.yaml" --no-cache >"$TMP/run3.out" 2>&1 &
pid=$!
wait_for "$TMP/b_started" && ok || not_ok "b never started (third run)"
kill -KILL $pid
wait $pid 2>/dev/null
touch "$TMP/release"
expect_exit 0 "$MLPIPE" run "$P/pipe.yaml"
[ "$(q "SELECT state FROM context WHERE name = 'k#3'")" = FAILED ] && ok || not_ok "the dead run k#3 was not closed as FAILED"
[ "$(q "SELECT count(*) FROM execution WHERE state = 'RUNNING'")" = 0 ] && ok || not_ok "executions left RUNNING after the sweep"
[ -z "$(ls -A "$P/runs/k/.staging")" ] && ok || not_ok "the dead run's staging was not removed"

# wrong runs to resume
expect_exit 2 "$MLPIPE" run "$P/pipe.yaml" --resume k#99
expect_exit 2 "$MLPIPE" run "$P/pipe.yaml" --resume 12345
cat >"$P/other.yaml" <<'YAML'
pipeline: { name: other, root: runs, metadata: runs/m.db }
components:
  - { id: x, type: Command, params: { cmd: 'true' } }
YAML
expect_exit 2 "$MLPIPE" run "$P/other.yaml" --resume k#1
expect_err "run k#1 belongs to pipeline 'k', not 'other'"
expect_exit 2 "$MLPIPE" run "$P/other.yaml" --resume last
expect_err "pipeline 'other' has no run to resume"

# a run finishes with the configuration it began with: its --set overrides
# come back with the printed "finish it" command, a changed file is refused
cat >"$P/r.yaml" <<YAML
pipeline: { name: r, root: runs, metadata: runs/m.db }
components:
  - id: t
    type: Command
    params:
      epochs: 10
      cmd: 'echo \$MLPIPE_PARAM_EPOCHS >> $TMP/rtrace; touch $TMP/t_started; [ -e $TMP/t_release ] || sleep 60 # $MARK'
YAML
rm -f "$TMP/t_started" "$TMP/t_release"
"$MLPIPE" run "$P/r.yaml" --set t.epochs=14 >"$TMP/r1.out" 2>&1 &
pid=$!
wait_for "$TMP/t_started" && ok || not_ok "t never started"
kill -INT $pid
wait $pid
finish_it=$(sed -n 's/^finish it: *//p' "$TMP/r1.out")
[ "$finish_it" = "mlpipe run $P/r.yaml --resume r#1" ] && ok || not_ok "finish it: '$finish_it'"
touch "$TMP/t_release"
expect_exit 0 "$MLPIPE" run "$P/r.yaml" --resume r#1
expect_out "r#1 COMPLETE"
[ "$(tr '\n' ' ' <"$TMP/rtrace")" = "14 14 " ] && ok || not_ok "the resume ran with another configuration: $(tr '\n' ' ' <"$TMP/rtrace")"
expect_exit 0 meta --json run r#1
expect_jq '[.executions[] | .params.epochs] == ["14", "14"]'

rm -f "$TMP/t_release" "$TMP/t_started"
"$MLPIPE" run "$P/r.yaml" >"$TMP/r2.out" 2>&1 &
pid=$!
wait_for "$TMP/t_started" && ok || not_ok "t never started (r#2)"
kill -TERM $pid
wait $pid
cp "$P/r.yaml" "$TMP/r.yaml.orig"
sed -i 's/epochs: 10/epochs: 12/' "$P/r.yaml"
touch "$TMP/t_release"
expect_exit 2 "$MLPIPE" run "$P/r.yaml" --resume r#2
expect_err "changed since run r#2 began (line 6 was 'epochs: 10', now 'epochs: 12')"
cp "$TMP/r.yaml.orig" "$P/r.yaml"
expect_exit 2 "$MLPIPE" run "$P/r.yaml" --resume r#2 --set t.epochs=3
expect_err "run r#2 began with no --set, this resume has --set t.epochs=3"
expect_exit 0 "$MLPIPE" run "$P/r.yaml" --resume r#2
expect_out "r#2 COMPLETE"
[ "$(tail -1 "$TMP/rtrace")" = 10 ] && ok || not_ok "r#2 resumed with epochs $(tail -1 "$TMP/rtrace")"

# a Trainer stopped after a checkpoint and resumed reports every epoch, the
# ones before the resume too (its curves start at epoch 1)
awk 'BEGIN { srand(3); print "a,b,y"; for (i = 0; i < 4000; i++) { a = rand(); b = rand(); printf "%.4f,%.4f,%d\n", a, b, (a > b) } }' >"$P/t.csv"
cat >"$P/tr.yaml" <<'YAML'
pipeline: { name: tr, root: runs, metadata: runs/m.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: t.csv, label: y, validation_fraction: 0.1 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params: { epochs: 400, batch_size: 8, model: { layers: [ {dense: 32, activation: relu}, {dense: auto} ] } }
YAML
"$MLPIPE" run "$P/tr.yaml" >"$TMP/tr1.out" 2>&1 &
pid=$!
for i in $(seq 600); do ls "$P"/runs/tr/.scratch/train-*/checkpoint.mlpc >/dev/null 2>&1 && break; sleep 0.05; done
sleep 0.3
kill -TERM $pid
wait $pid
expect_exit 0 "$MLPIPE" run "$P/tr.yaml" --resume last
expect_out "tr#1 COMPLETE"
grep -q "continuing from the checkpoint after epoch" "$P"/runs/tr/.logs/*-train.log && ok || not_ok "the Trainer did not continue from its checkpoint"
expect_exit 0 meta --json run tr#1
expect_jq '[.executions[] | select(.component == "train" and .state == "COMPLETE") | .metrics[] | select(.name == "train_loss" and .step > 0) | .step] == [range(1; 401)]'
finish
