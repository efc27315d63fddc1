# mlpipe schedule with a fake clock (MLPIPE_FAKE_NOW): a week of runs in
# seconds, catch-up on and off, no overlap between two schedulers, SIGTERM,
# schedule errors with their line:col; and the retraining story: spans 1, 2
# and 3 land on three days, span 2 with shuffled labels; the models of spans
# 1 and 3 are pushed as versions 1 and 2, span 2's is not blessed.
. "$(dirname "$0")/lib.sh"

MARK="mlpipe-e2e-$$"

REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P"
runs_of() { "$MLPIPE" meta --db "$P/runs/metadata.db" --json runs --pipeline "$1" | jq length; }
wait_for() { local i; for i in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

cat >"$P/tick.yaml" <<'EOF'
pipeline:
  name: tick
  schedule: "@daily"
components:
  - id: a
    type: Command
    cache: false
    params: { cmd: 'echo tick' }
EOF

# ---- a week of @daily in seconds: the first run at the current minute, then one a day
expect_exit 0 env MLPIPE_FAKE_NOW="2026-11-23 00:00" "$MLPIPE" schedule "$P/tick.yaml" --until "2026-11-29 23:59"
[ "$(grep -c "tick: starting the run due at" "$TMP/out")" = 7 ] && ok || not_ok "a week should be 7 runs: $(grep -c starting "$TMP/out")"
expect_out "2026-11-23 00:00 tick: starting the run due at 2026-11-23 00:00"
expect_out "2026-11-29 00:00 tick: the run due at 2026-11-29 00:00 completed (exit 0)"
[ "$(runs_of tick)" = 7 ] && ok || not_ok "7 runs in the store, not $(runs_of tick)"
grep -q "^last [0-9]* 2026-11-29 00:00$" "$P/runs/tick/.schedule" && ok || not_ok "the state file: $(cat "$P/runs/tick/.schedule")"

# ---- down for three days: without catchup one run (the latest missed time)
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-02 10:00" "$MLPIPE" schedule "$P/tick.yaml" --once
expect_out "tick: schedule '@daily'; due now: the run of 2026-12-02 00:00"
[ "$(grep -c "starting the run" "$TMP/out")" = 1 ] && ok || not_ok "catchup false should run once"
# nothing is due any more the same day
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-02 18:00" "$MLPIPE" schedule "$P/tick.yaml" --once
[ "$(grep -c "starting the run" "$TMP/out")" = 0 ] && ok || not_ok "a run that was done ran again"
expect_out "next at 2026-12-03 00:00"
# with catchup each missed time, in order
sed -i 's/  schedule: "@daily"/  schedule: "@daily"\n  catchup: true/' "$P/tick.yaml"
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-05 10:00" "$MLPIPE" schedule "$P/tick.yaml" --once
[ "$(grep "starting the run" "$TMP/out" | sed 's/.*due at //' | tr '\n' ,)" = "2026-12-03 00:00,2026-12-04 00:00,2026-12-05 00:00," ] &&
	ok || not_ok "catchup should run 12-03, 12-04, 12-05 in order: $(grep starting "$TMP/out")"
[ "$(runs_of tick)" = 11 ] && ok || not_ok "11 runs in all, not $(runs_of tick)"

# ---- two schedulers at once never start a scheduled time twice, and a
# manual run of a running pipeline is refused
cat >"$P/slow.yaml" <<EOF
pipeline:
  name: slow
  schedule: "0 * * * *"
components:
  - id: a
    type: Command
    cache: false
    params: { cmd: 'touch "$TMP/slow_started"; sleep 2' }
EOF
MLPIPE_FAKE_NOW="2026-12-01 10:00" "$MLPIPE" schedule "$P/slow.yaml" --once >"$TMP/s1.out" 2>&1 &
s1=$!
MLPIPE_FAKE_NOW="2026-12-01 10:00" "$MLPIPE" schedule "$P/slow.yaml" --once >"$TMP/s2.out" 2>&1 &
s2=$!
wait_for "$TMP/slow_started" && ok || not_ok "the slow run never started"
expect_exit 1 "$MLPIPE" run "$P/slow.yaml"
expect_err "pipeline 'slow' is running (pid"
wait $s1 && ok || not_ok "the first scheduler failed"
wait $s2 && ok || not_ok "the second scheduler failed"
[ "$(cat "$TMP/s1.out" "$TMP/s2.out" | grep -c "slow: starting the run due at 2026-12-01 10:00")" = 1 ] && ok ||
	not_ok "the 10:00 run was started $(cat "$TMP/s1.out" "$TMP/s2.out" | grep -c starting) times"
# the other one found it claimed: when it looked (skipped), or already at its start (next at 11:00)
cat "$TMP/s1.out" "$TMP/s2.out" | grep -Eq "was started by another scheduler; skipped|slow: schedule '0 \* \* \* \*'; next at 2026-12-01 11:00" &&
	ok || not_ok "the other scheduler did not say why it did not run"
[ "$(runs_of slow)" = 1 ] && ok || not_ok "one run of slow, not $(runs_of slow)"

# ---- SIGTERM: the current run is canceled cleanly, then the scheduler exits
cat >"$P/long.yaml" <<EOF
pipeline:
  name: long
  schedule: "*/5 * * * *"
components:
  - id: a
    type: Command
    params: { cmd: 'touch "$TMP/long_started"; sleep 30 # $MARK' }
EOF
start=$(date +%s)
MLPIPE_FAKE_NOW="2026-12-01 10:00" "$MLPIPE" schedule "$P/long.yaml" >"$TMP/long.out" 2>&1 &
sp=$!
wait_for "$TMP/long_started" && ok || not_ok "the long run never started"
kill -TERM $sp
wait $sp
[ $? = 0 ] && ok || not_ok "the scheduler's exit status after SIGTERM"
[ $(($(date +%s) - start)) -lt 15 ] && ok || not_ok "SIGTERM took too long"
grep -q "stopped by signal 15" "$TMP/long.out" && ok || not_ok "no 'stopped' line"
grep -q "long: the run due at 2026-12-01 10:00 did not complete (exit 1)" "$TMP/long.out" && ok || not_ok "the run's end not logged"
expect_exit 0 "$MLPIPE" meta --db "$P/runs/metadata.db" --json run long#1
expect_jq '.state == "CANCELED" and (.executions | map(.state)) == ["CANCELED"]'
# (by a mark of this test's own: "sleep 30" also matches anyone's "sleep 300")
pgrep -f "$MARK" >/dev/null && not_ok "the component outlived the scheduler" || ok

# ---- a bad schedule is a validation error with its line and column, for run too
cat >"$P/bad.yaml" <<'EOF'
pipeline:
  name: bad
  schedule: "0 3 * jan-xyz *"
  catchup: sometimes
components:
  - id: a
    type: Command
    params: { cmd: 'true' }
EOF
expect_exit 2 "$MLPIPE" run "$P/bad.yaml"
grep -q "bad.yaml:3:24: schedule: month: 'xyz' is not a number or a name" "$TMP/err" && ok || not_ok "schedule error: $(cat "$TMP/err")"
grep -q "bad.yaml:4:12: catchup: 'sometimes' is not true or false" "$TMP/err" && ok || not_ok "catchup error"
expect_exit 2 "$MLPIPE" schedule "$P/bad.yaml" --once
expect_exit 2 "$MLPIPE" schedule "$P/tick.yaml" --until "next tuesday"
expect_err "--until: 'next tuesday' is not a time (YYYY-MM-DD HH:MM)"
expect_exit 2 env MLPIPE_FAKE_NOW="2026-13-01 00:00" "$MLPIPE" schedule "$P/tick.yaml" --once
expect_err "MLPIPE_FAKE_NOW: '2026-13-01 00:00' is not a time (YYYY-MM-DD HH:MM)"
grep -v 'schedule:\|catchup:' "$P/tick.yaml" >"$P/unscheduled.yaml"
expect_exit 2 "$MLPIPE" schedule "$P/unscheduled.yaml" --once
expect_err "has no schedule"

# ---- the retraining story
mkdir -p "$P/story/data"
cp "$REPO/pipelines/data/penguins.csv" "$TMP/all.csv"
# span K: every third penguin, so each span has every species
span() { awk -F, -v k="$1" 'NR == 1 || (NR - 2) % 3 == k - 1' "$TMP/all.csv"; }
# shuffled labels: each row gets the species of another, unrelated row
shuffle() { awk -F, -v OFS=, 'NR == 1 { print; next } { row[NR] = $0; sp[NR] = $1 }
	END { n = NR - 1; for (i = 2; i <= NR; i++) { $0 = row[i]; $1 = sp[2 + ((i - 2) * 37 + 11) % n]; print } }'; }
cat >"$P/story/retrain.yaml" <<'EOF'
pipeline:
  name: retrain
  schedule: "0 3 * * *"
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, pattern: 'data/span-{SPAN}.csv', label: species, eval_fraction: 0.3 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { rules: { year: drop } }
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params:
      model: { layers: [ {dense: 16, activation: relu}, {dense: auto} ] }
      optimizer: { name: adam, lr: 0.01 }
      epochs: 40
      warm_start: true
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { thresholds: { accuracy: { min: 0.8, max_drop: 0.05 } } }
  - id: push
    type: Pusher
    inputs: { model: train.model, blessing: evaluate.blessing }
    params: { destination: serving/penguins }
EOF
S=$P/story
span 1 >"$S/data/span-1.csv"
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-01 03:00" "$MLPIPE" schedule "$S/retrain.yaml" --once
expect_out "retrain: the run due at 2026-12-01 03:00 completed (exit 0)"
span 2 | shuffle >"$S/data/span-2.csv"
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-02 03:00" "$MLPIPE" schedule "$S/retrain.yaml" --once
expect_out "retrain: the run due at 2026-12-02 03:00 completed (exit 0)"
span 3 >"$S/data/span-3.csv"
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-03 03:00" "$MLPIPE" schedule "$S/retrain.yaml" --once
expect_out "retrain: the run due at 2026-12-03 03:00 completed (exit 0)"
# spans 1 and 3 pushed as versions 1 and 2; span 2 not blessed, not pushed
[ -f "$S/serving/penguins/1/model.mlpm" ] && [ -f "$S/serving/penguins/2/model.mlpm" ] && [ ! -e "$S/serving/penguins/3" ] &&
	ok || not_ok "versions 1 and 2 only: $(ls "$S/serving/penguins")"
DB=$S/runs/metadata.db
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type ModelBlessing
expect_jq 'map(.properties.blessed) == [1, 0, 1]'
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type PushedModel
expect_jq 'map(.properties.pushed) == [1, 0, 1] and map(.properties.version // 0) == [1, 0, 2]'
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type Examples
expect_jq 'map(select(.producer.component == "ingest") | .properties.span) == [1, 2, 3]'
# span 2's model is bad on its own data, and span 3's is judged against span 1's
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --name accuracy --component evaluate
expect_jq '(.[1].value < 0.8) and (.[0].value >= 0.8) and (.[2].value >= 0.8)'
# warm start: runs 2 and 3 started from the model pushed last, span 1's
m1=$(jq -r '.[0].uri' <("$MLPIPE" meta --db "$DB" --json artifacts --type Model))
for r in 2 3; do
	expect_exit 0 "$MLPIPE" meta --db "$DB" --json run "retrain#$r"
	expect_jq '.executions[] | select(.component == "train") | .inputs | map(.name) | index("base_model") != null'
	base=$(jq -r '.executions[] | select(.component == "train") | .inputs[] | select(.name == "base_model") | .uri' "$TMP/out")
	[ "$base" = "$m1" ] && ok || not_ok "run $r's base model is $base, not span 1's"
done
# the third run's baseline is the latest blessed model: span 1's
expect_jq '.executions[] | select(.component == "evaluate") | .inputs | map(.name) == ["examples", "model", "baseline_model"]'
# day 4, no new span: everything comes from the cache (the warm start's
# starting point, now span 3's model, is not part of the cache key)
expect_exit 0 env MLPIPE_FAKE_NOW="2026-12-04 03:00" "$MLPIPE" schedule "$S/retrain.yaml" --once
expect_out "retrain#4 COMPLETE"
expect_out "0 ran, 6 cached"
[ ! -e "$S/serving/penguins/3" ] && ok || not_ok "an unchanged run pushed a new version"
# KEEP=DIR keeps the story's project, to look at it
[ -n "${KEEP:-}" ] && cp -r "$S" "$KEEP"
finish
