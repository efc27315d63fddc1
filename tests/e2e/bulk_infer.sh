#!/usr/bin/env bash
# BulkInferrer: a split scored inside the pipeline is what mlpipe predict
# writes for the same rows; with a blessing wired, an unblessed model
# scores nothing; the InferenceResult has lineage in the store.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
# the penguins, the first 250 rows to train on and the rest to score
head -251 "$REPO/pipelines/data/penguins.csv" >"$P/data/train.csv"
{ head -1 "$REPO/pipelines/data/penguins.csv"; tail -n +252 "$REPO/pipelines/data/penguins.csv"; } >"$P/data/eval.csv"
cat >"$P/p.yaml" <<'EOF'
pipeline: { name: bulk, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, splits: { train: data/train.csv, eval: data/eval.csv }, label: species }
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
    params: { model: { layers: [ {dense: 8, activation: relu}, {dense: auto} ] }, epochs: 20, optimizer: { name: adam, lr: 0.02 } }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { thresholds: { accuracy: { min: 0.5 } } }
  - id: score
    type: BulkInferrer
    inputs: { examples: ingest.examples, model: train.model, blessing: evaluate.blessing }
EOF
expect_exit 0 "$MLPIPE" --quiet run "$P/p.yaml"
DB=$P/runs/metadata.db
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type InferenceResult
OUT=$(jq -r '.[-1].uri' "$TMP/out")
ID=$(jq -r '.[-1].id' "$TMP/out")
expect_jq '.[-1].properties.rows == 94 and .[-1].properties.skipped == 0 and .[-1].properties.split == "eval"'
MODEL=$(ls -d "$P"/runs/bulk/train/model/*)
expect_exit 0 "$MLPIPE" predict "$MODEL" "$P/data/eval.csv" -o "$TMP/predict.csv"
if cmp -s "$TMP/predict.csv" "$OUT/predictions.csv"; then ok; else
	not_ok "BulkInferrer's predictions differ from mlpipe predict's:"; diff "$TMP/predict.csv" "$OUT/predictions.csv" | head -5
fi
[ "$(wc -l <"$OUT/predictions.csv")" -eq 95 ] && ok || not_ok "predictions.csv has $(wc -l <"$OUT/predictions.csv") lines"
# lineage: the result comes from the model and the examples
expect_exit 0 "$MLPIPE" meta --db "$DB" --json lineage "$ID"
expect_out '"Model"'
expect_out '"Examples"'

# a threshold the model cannot hold: not blessed, nothing scored
expect_exit 0 "$MLPIPE" --quiet run "$P/p.yaml" --set 'evaluate.thresholds={accuracy: {min: 0.999}}'
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type InferenceResult
expect_jq '.[-1].properties.rows == 0 and .[-1].properties.skipped == 1'
OUT2=$(jq -r '.[-1].uri' "$TMP/out")
[ ! -e "$OUT2/predictions.csv" ] && ok || not_ok "an unblessed model's predictions were written"

# alone, without a blessing: a split that is not there is one line
expect_exit 2 "$MLPIPE" component BulkInferrer --input examples="$P/runs/bulk/ingest/examples/1" \
	--input model="$MODEL" --param split=test --output inference_result="$TMP/r"
expect_err "the examples have no split 'test' to score"
finish
