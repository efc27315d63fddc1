# The Tuner on the penguins: tuning the learning rate from a bad start
# beats the untuned Trainer; the grid enumerates exactly; random trials are
# seeded; successive halving keeps the best of each rung; the best values
# reach the Trainer (recorded, and in its cache key); trials run two at a
# time; a search killed with SIGKILL resumes without redoing finished
# trials; bad paths and domains are load-time errors with positions; meta
# trials and the report show the trials.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
DB=$P/runs/metadata.db

# pipeline NAME TUNER_PARAMS [EPOCHS]: the Tuner's params (YAML lines
# indented 6) after a base Trainer of EPOCHS (12) from a bad learning rate
pipeline() {
	cat >"$P/$1.yaml" <<EOF
pipeline: { name: $1, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/penguins.csv, label: species, eval_fraction: 0.2, validation_fraction: 0.15 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { rules: { year: drop } }
  - id: tune
    type: Tuner
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params:
      trainer: &base
        model: { layers: [ {dense: 16, activation: relu}, {dense: auto} ] }
        optimizer: { name: sgd, lr: 0.00001 }
        epochs: ${3:-12}
$2
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform, hyperparameters: tune.best_hyperparameters }
    params: *base
  - id: untuned
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params: *base
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
  - id: evaluate_untuned
    type: Evaluator
    inputs: { examples: ingest.examples, model: untuned.model }
EOF
}

# trials: the newest search's trials.tsv
trials() { ls -t "$P"/runs/*/tune/best_hyperparameters/*/trials.tsv | head -1; }

# ---- random search over the learning rate, from a bad start
pipeline rand "      search: { optimizer.lr: { log_uniform: [0.00001, 1] } }
      trials: 8
      objective: val_loss
      parallel: 2"
expect_exit 0 "$MLPIPE" --quiet run "$P/rand.yaml"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component evaluate --name accuracy
TUNED=$(jq '.[-1].value' "$TMP/out")
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component evaluate_untuned --name accuracy
UNTUNED=$(jq '.[-1].value' "$TMP/out")
awk -v t="$TUNED" -v u="$UNTUNED" 'BEGIN { exit !(t >= 0.9 && t - u >= 0.3) }' && ok ||
	not_ok "tuned accuracy $TUNED is not clearly above the untuned $UNTUNED"
T1=$(trials)
[ "$(head -1 "$T1")" = "$(printf 'trial\trung\tbudget\tstatus\tobjective\tstart\tend\toptimizer.lr')" ] && ok ||
	not_ok "trials.tsv's header: $(head -1 "$T1")"
[ "$(tail -n +2 "$T1" | wc -l)" -eq 8 ] && ok || not_ok "trials.tsv has $(tail -n +2 "$T1" | wc -l) trials, not 8"
awk -F'\t' 'NR > 1 && ($8 < 0.00001 || $8 > 1 || $4 != "complete") { bad++ } END { exit bad > 0 }' "$T1" && ok ||
	not_ok "a trial outside its domain: $(cat "$T1")"
# the best trial's lr reached the Trainer, which recorded it
BEST=$(awk -F'\t' 'NR > 1 && (best == "" || $5 < best) { best = $5; lr = $8 } END { print lr }' "$T1")
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type Model
jq -e --arg lr "$BEST" 'map(select(.producer.component == "train"))[-1].properties.hyperparameters == "{\"optimizer.lr\":\($lr)}"' \
	"$TMP/out" >/dev/null && ok || not_ok "the Trainer did not record optimizer.lr $BEST: $(jq -c 'map(.properties.hyperparameters)' "$TMP/out")"
grep -q "hyperparameters from the input: {\"optimizer.lr\":$BEST}" "$P"/runs/rand/.logs/*-train.log && ok ||
	not_ok "the Trainer's log does not say which values it applied"
# the metrics: one objective per trial, the best
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component tune --name objective --all-steps
expect_jq 'map(.step) | sort == [1,2,3,4,5,6,7,8]'
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component tune --name best_objective
BESTV=$(awk -F'\t' 'NR > 1 && (b == "" || $5 < b) { b = $5 } END { print b }' "$T1")
jq -e --argjson b "$BESTV" '.[-1].value - $b | fabs < 1e-4' "$TMP/out" >/dev/null && ok ||
	not_ok "best_objective is not the lowest val_loss $BESTV: $(cat "$TMP/out")"
# two at a time: some trials overlap in time
awk -F'\t' 'NR > 1 { s[NR] = $6; e[NR] = $7 } END { for (i in s) for (j in s) if (i < j && s[i] < e[j] && s[j] < e[i]) n++; exit !(n > 0) }' "$T1" &&
	ok || not_ok "no two trials ran at the same time: $(cut -f1,6,7 "$T1" | tr '\n' ' ')"

# seeded: the same seed gives the same trials, another seed others
cp "$T1" "$TMP/t1.tsv"
expect_exit 0 "$MLPIPE" --quiet run "$P/rand.yaml" --no-cache
cmp -s <(cut -f1,8 "$(trials)") <(cut -f1,8 "$TMP/t1.tsv") && ok || not_ok "the same seed gave other trials"
# a cached rerun reuses the Tuner and the Trainer
expect_exit 0 "$MLPIPE" run "$P/rand.yaml"
grep -q "train .*cached" "$TMP/out" && grep -q "tune .*cached" "$TMP/out" && ok || not_ok "a rerun was not cached: $(cat "$TMP/out")"
# another seed: other trials, another best, so the Trainer runs again (its input is in its cache key)
expect_exit 0 "$MLPIPE" run "$P/rand.yaml" --set tune.seed=7
! cmp -s <(cut -f8 "$(trials)") <(cut -f8 "$TMP/t1.tsv") && ok || not_ok "seed 7 gave the same trials"
grep -q "tune .*ran" "$TMP/out" && grep -q "train .*ran" "$TMP/out" && grep -q "untuned .*cached" "$TMP/out" && ok ||
	not_ok "new hyperparameters did not retrain (only) the tuned Trainer: $(cat "$TMP/out")"

# ---- meta trials and the report
expect_exit 0 "$MLPIPE" meta --db "$DB" trials
expect_out "optimizer.lr"
expect_out "best: trial "
expect_exit 0 "$MLPIPE" meta --db "$DB" --json trials
expect_jq 'length == 8 and (.[0] | has("objective") and has("optimizer.lr"))'
expect_exit 0 "$MLPIPE" report --db "$DB" last -o "$TMP/report.html"
grep -q "<h2>Tuner: tune</h2>" "$TMP/report.html" && grep -q "<title>optimizer.lr</title>" "$TMP/report.html" && ok ||
	not_ok "the report lacks the Tuner's section"
if command -v xmllint >/dev/null; then
	xmllint --html --noout "$TMP/report.html" 2>"$TMP/xml.err" && ok || { not_ok "the report is not well-formed:"; head -3 "$TMP/xml.err"; }
fi

# ---- grid: every combination, exactly once, in order
pipeline grid "      search: { optimizer.lr: { choice: [0.01, 0.1, 0.5] }, model.layers.0.dense: { int: [7, 8] } }
      strategy: grid"
expect_exit 0 "$MLPIPE" --quiet run "$P/grid.yaml"
GRID=$(tail -n +2 "$(trials)" | cut -f8,9 | tr '\t' , | paste -sd' ')
[ "$GRID" = "0.01,7 0.01,8 0.1,7 0.1,8 0.5,7 0.5,8" ] && ok || not_ok "the grid's combinations: $GRID"
expect_exit 2 "$MLPIPE" run "$P/grid.yaml" --set tune.trials=4 --dry-run
expect_err "trials: 4 is fewer than the grid's 6 combinations"

# ---- successive halving: each rung keeps the best third of the one before
pipeline halving "      search: { optimizer.lr: { log_uniform: [0.00001, 1] }, model.layers.0.dense: { choice: [4, 8, 16] } }
      strategy: halving
      trials: 9
      halving: { min_budget: 1, max_budget: 9, reduction: 3 }
      objective: val_loss
      parallel: 2"
expect_exit 0 "$MLPIPE" --quiet run "$P/halving.yaml"
H=$(trials)
[ "$(awk -F'\t' 'NR > 1 { n[$2 ":" $3]++ } END { print n["1:1"], n["2:3"], n["3:9"] }' "$H")" = "9 3 1" ] && ok ||
	not_ok "the rungs are not 9 trials at 1 epoch, 3 at 3, 1 at 9: $(cut -f1-5 "$H" | tr '\n' ' ')"
# the promoted trials of a rung are its best (lowest val_loss), and the next rung runs exactly them
awk -F'\t' 'NR > 1 { r = $2; v[r, ++n[r]] = $5; st[r, n[r]] = $4; t[r, n[r]] = $1; if (r > 1) nxt[r - 1, $1] = 1 }
	END { for (r = 1; r < 3; r++) for (i = 1; i <= n[r]; i++) for (j = 1; j <= n[r]; j++) {
		if (st[r, i] == "promoted" && st[r, j] == "stopped" && v[r, i] > v[r, j]) bad++
		if ((st[r, i] == "promoted") != ((r, t[r, i]) in nxt)) bad++ }
	      exit bad > 0 }' "$H" && ok || not_ok "halving did not keep the best of a rung: $(cut -f1-5 "$H" | tr '\n' ' ')"
expect_exit 0 "$MLPIPE" report --db "$DB" last -o "$TMP/halving.html"
grep -q "the rungs: the trials each rung kept" "$TMP/halving.html" && ok || not_ok "the report lacks the rungs"

# ---- killed with SIGKILL mid-search, resumed: the finished trials are not run again
pipeline slow "      search: { optimizer.lr: { log_uniform: [0.0001, 1] } }
      trials: 6" 400
"$MLPIPE" --quiet run "$P/slow.yaml" >"$TMP/slow.out" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
	J=$(ls "$P"/runs/slow/.scratch/tune-*/trials/journal.tsv 2>/dev/null | head -1)
	[ -n "$J" ] && [ "$(wc -l <"$J")" -ge 2 ] && break
	sleep 0.1
done
{ kill -KILL "$PID"; wait "$PID"; } 2>/dev/null
sleep 0.5
DONE=$(wc -l <"$J")
[ "$DONE" -ge 2 ] && [ "$DONE" -lt 6 ] && ok || not_ok "the search was not killed in the middle ($DONE trials done)"
expect_exit 0 "$MLPIPE" --quiet run "$P/slow.yaml" --resume slow#1
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component tune --name reused_evaluations --pipeline slow
REUSED=$(jq '.[-1].value' "$TMP/out")
[ "$REUSED" -ge "$DONE" ] && ok || not_ok "the resumed search reused $REUSED trials, $DONE had finished"
RAN=$(grep "tuner: trial .*s)$" "$(ls -t "$P"/runs/slow/.logs/*-tune.log | head -1)" | grep -vc "finished before")
[ "$((RAN + REUSED))" -eq 6 ] && ok || not_ok "the resumed search ran $RAN trials and reused $REUSED, of 6"
[ "$(tail -n +2 "$(trials)" | wc -l)" -eq 6 ] && ok || not_ok "the resumed search has $(tail -n +2 "$(trials)" | wc -l) trials"

# ---- mistakes are load-time errors with their positions
cat >"$P/bad.yaml" <<'EOF'
pipeline: { name: bad, root: runs }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/penguins.csv, label: species }
  - id: tune
    type: Tuner
    inputs: { examples: ingest.examples }
    params:
      trainer: { epochz: 3 }
      search:
        optimizer.lrr: { log_uniform: [0.001, 0.1] }
        model.layers.0.dense: { uniform: [4, 8] }
        model.layers.0.activation: { choice: [relu, tanhh] }
        batch_size: { int: [0, 8] }
        optimizer.lr: { log_uniform: [0, 1] }
        learning_rate: { choice: [1] }
EOF
expect_exit 2 "$MLPIPE" run "$P/bad.yaml" --dry-run
for want in "bad.yaml:10:18: param trainer: unknown Trainer param 'epochz' (did you mean 'epochs'?)" \
	"bad.yaml:12:9: param search: optimizer.lrr: unknown key 'lrr' (did you mean 'lr'?)" \
	"bad.yaml:13:42: param search.model.layers.0.dense: takes whole numbers: use int or choice" \
	"bad.yaml:14:53: param search.model.layers.0.activation: unknown value 'tanhh' (did you mean 'tanh'?)" \
	"bad.yaml:15:29: param search.batch_size: 0 is out of range" \
	"bad.yaml:16:39: param search.optimizer.lr: log_uniform needs lo above 0" \
	"bad.yaml:17:9: param search: unknown Trainer param 'learning_rate'"; do
	grep -qF "$want" "$TMP/err" && ok || { not_ok "no '$want' in:"; sed 's/^/  /' "$TMP/err"; }
done
# a required param with a mistake in it is not also reported missing
! grep -q "needs param 'search'" "$TMP/err" && ok || not_ok "search was reported missing as well as wrong"
# what only the Trainer's own check can say: a value that changes the model's kind
expect_exit 2 "$MLPIPE" run "$P/rand.yaml" --dry-run --set 'tune.search={model.gbdt.max_depth: {int: [2, 4]}}'
expect_err "param search: with model.gbdt.max_depth = 2: model: 'layers' and 'gbdt' exclude each other"
expect_exit 2 "$MLPIPE" run "$P/halving.yaml" --dry-run --set 'tune.search={epochs: {int: [2, 4]}}'
expect_err "search: epochs is the halving budget"
expect_exit 2 "$MLPIPE" run "$P/rand.yaml" --dry-run --set tune.strategy=grid
expect_err "param search: grid search takes choice or int domains, and optimizer.lr is continuous"
expect_exit 2 "$MLPIPE" run "$P/rand.yaml" --dry-run --set tune.objective=val_accuracy --set 'tune.trainer={loss: mse}'
expect_err "param objective: val_accuracy needs a classifier, and the Trainer's loss is mse"
expect_exit 2 "$MLPIPE" run "$P/halving.yaml" --dry-run --set 'tune.halving={min_budget: 20, max_budget: 5}'
expect_err "param halving: min_budget 20 is above max_budget 5 (the epochs)"
# trials are never chosen on the split the Evaluator reports on
expect_exit 2 "$MLPIPE" run "$P/rand.yaml" --dry-run --set 'tune.trainer={validation_split: eval}'
expect_err "trainer: validation_split 'eval' is the split the Evaluator reports on"

# ---- failures at run time: each names its reason, and nothing is published
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type HyperParameters
NHP=$(jq length "$TMP/out")
# every trial diverges: the Tuner fails with the first one's reason
expect_exit 1 "$MLPIPE" run "$P/rand.yaml" --set 'tune.search={optimizer.lr: {log_uniform: [100000, 1000000]}}' --set tune.trials=3
grep -q "tune .*failed after .*: every trial failed; the first: the loss became NaN" "$TMP/out" && ok ||
	not_ok "a search of diverging trials did not fail with their reason: $(grep tune "$TMP/out")"
# no validation data to score a trial on: the search stops at the first
expect_exit 1 "$MLPIPE" run "$P/rand.yaml" --set 'tune.trainer={validation_split: nosuch, validation_fraction: 0}'
grep -q "tune .*failed after .*: trial [0-9]* has no val_loss: the Trainer needs validation data" "$TMP/out" && ok ||
	not_ok "a search without validation data did not say so: $(grep tune "$TMP/out")"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type HyperParameters
[ "$(jq length "$TMP/out")" -eq "$NHP" ] && ok || not_ok "a failed search published a HyperParameters artifact"
# meta trials of something that is not a search
expect_exit 2 "$MLPIPE" meta --db "$DB" trials 1
expect_err "artifact 1 is Examples, not HyperParameters (a Tuner's output)"
expect_exit 2 "$MLPIPE" meta --db "$DB" trials --pipeline bad
expect_err "no Tuner has run in pipeline bad"
finish
