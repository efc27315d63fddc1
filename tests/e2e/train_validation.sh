# The Trainer never looks at the split the Evaluator reports on: its
# per-epoch metrics and early stopping use a validation split, carved out of
# train when the examples have none; and what it records as its metrics are
# those of the weights it keeps.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P/data"
meta() { "$MLPIPE" meta --db "$P/runs/m.db" "$@"; }
# a separable problem; the eval file has every label flipped, so anything
# that validated on it would see accuracy near 0
awk 'BEGIN { srand(7); print "a,b,y"; for (i = 0; i < 600; i++) { a = rand(); b = rand(); printf "%.4f,%.4f,%d\n", a, b, (a > b) } }' >"$P/data/train.csv"
awk 'BEGIN { srand(8); print "a,b,y"; for (i = 0; i < 200; i++) { a = rand(); b = rand(); printf "%.4f,%.4f,%d\n", a, b, (a <= b) } }' >"$P/data/eval.csv"
cat >"$P/p.yaml" <<'YAML'
pipeline: { name: v, root: runs, metadata: runs/m.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, splits: { train: data/train.csv, eval: data/eval.csv }, label: y }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples, transform: transform.transform }
    params:
      apply_transform: true
      model: { layers: [ {dense: 16, activation: relu}, {dense: auto} ] }
      optimizer: { name: adam, lr: 0.05 }
      epochs: 40
      early_stopping: { metric: val_loss, patience: 2 }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
YAML
expect_exit 0 "$MLPIPE" run "$P/p.yaml"
grep -q "validating on 10% of split 'train'" "$P"/runs/v/.logs/*-train.log && ok || not_ok "no word of the carved validation part"
expect_exit 0 meta --json run last
# validated on held-out train data: high; the Evaluator on the flipped eval split: low
expect_jq '.executions[3].metrics | map(select(.name == "val_accuracy" and .step > 0)) | length >= 3'
expect_jq '.executions[3].metrics | map(select(.name == "val_accuracy" and .step == 0)) | .[0].value > 0.9'
expect_jq '.executions[4].metrics | map(select(.name == "accuracy")) | .[0].value < 0.2'
expect_jq '[.executions[3].metrics[] | .name] | index("eval_loss") == null'
# the recorded metrics are those of the kept epoch, the best val_loss
expect_jq '(.executions[3].metrics | map(select(.name == "val_loss" and .step > 0)) | min_by(.value)) as $best |
  (.executions[3].metrics | map(select(.name == "val_loss" and .step == 0)) | .[0].value) == $best.value and
  (.executions[3].metrics | map(select(.name == "kept_epoch")) | .[0].value) == $best.step'
expect_jq '(.executions[3].metrics | map(select(.name == "kept_epoch")) | .[0].value) <
  (.executions[3].metrics | map(select(.name == "epochs")) | .[0].value)'
# meta run shows the kept values, not the last epoch's
expect_exit 0 meta run last
kept=$(jq -r '.executions[3].metrics | map(select(.name == "val_loss" and .step == 0)) | .[0].value' <(meta --json run last))
grep -q "val_loss=$(printf '%.6g' "$kept")" "$TMP/out" && ok || not_ok "meta run does not show the kept val_loss $kept"

# the carved part is the same on every run: the model is too
m1=$(jq -r '.executions[3].outputs[0].uri' <(meta --json run last))/model.mlpm
expect_exit 0 "$MLPIPE" run "$P/p.yaml" --no-cache
m2=$(jq -r '.executions[3].outputs[0].uri' <(meta --json run last))/model.mlpm
cmp -s "$m1" "$m2" && ok || not_ok "two runs gave different models"

# the validation examples are read once and kept (cache: true): every
# epoch's figures are those of a fresh pass, as without the cache
for c in true false; do
	expect_exit 0 "$MLPIPE" --quiet run "$P/p.yaml" --no-cache --set train.cache=$c --set train.shuffle_buffer=0 \
		--set train.epochs=6 --set 'train.early_stopping={}'
	meta --json run last | jq -c '.executions[3].metrics | map(select(.name == "val_loss" and .step > 0) | .value)' \
		>"$TMP/val_$c"
done
[ "$(jq length "$TMP/val_true")" = 6 ] && cmp -s "$TMP/val_true" "$TMP/val_false" && ok ||
	not_ok "the kept validation examples gave other figures: $(cat "$TMP/val_true") against $(cat "$TMP/val_false")"

# a validation split of its own is used as it is
expect_exit 0 "$MLPIPE" run "$P/p.yaml" --set ingest.validation_fraction=0.2
expect_exit 0 meta --json run last
expect_jq '.executions[0].metrics | map(select(.name == "rows_validation")) | .[0].value > 80'
! grep -q "validating on" "$(ls -t "$P"/runs/v/.logs/*-train.log | head -1)" && ok || not_ok "carved although there is a validation split"
# no validation at all: early stopping cannot work, and says so before anything runs
expect_exit 2 "$MLPIPE" component Trainer --input examples="$(jq -r '.executions[0].outputs[0].uri' "$TMP/out")" \
	--input transform="$(jq -r '.executions[2].outputs[0].uri' "$TMP/out")" --output model="$TMP/m" \
	--param apply_transform=true --param validation_split=none --param validation_fraction=0 \
	--param 'early_stopping={metric: val_loss}'
expect_err "early_stopping needs validation"
# a regression has no accuracy, in the log or the metrics
awk 'BEGIN { srand(9); print "a,b,y"; for (i = 0; i < 300; i++) { a = rand(); b = rand(); printf "%.4f,%.4f,%.4f\n", a, b, 3 * a - b } }' >"$P/data/reg.csv"
expect_exit 0 "$MLPIPE" run "$P/p.yaml" --set 'ingest.splits={train: data/reg.csv, eval: data/reg.csv}' \
	--set train.loss=mse --set 'train.model={layers: [{dense: 1}]}'
grep -q "the baseline model does not answer the same question (it is a classifier of 2 classes, this model a regression)" \
	"$(ls -t "$P"/runs/v/.logs/*-evaluate.log | head -1)" && ok || not_ok "a classifier was taken as a regression's baseline"
expect_exit 0 meta --json run last
expect_jq '[.executions[3].metrics[] | .name | select(test("accuracy"))] == []'
! grep -q accuracy "$(ls -t "$P"/runs/v/.logs/*-train.log | head -1)" && ok || not_ok "a regression's log speaks of accuracy"
expect_exit 2 "$MLPIPE" run "$P/p.yaml" --set train.loss=mse --set 'train.model={layers: [{dense: 1}]}' \
	--set 'train.early_stopping={metric: val_accuracy}'
expect_err "early_stopping: a regression (loss mse) has no val_accuracy; use val_loss"
finish
