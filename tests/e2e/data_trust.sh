# Bad data is stopped before it trains: a stray word in a numeric column is
# an error (or, asked for, a counted missing value that the validator
# reports); a string column of numbers is flagged; a huge vocabulary is not
# one-hot encoded by accident; empty data fails where it is first needed.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P/data"
meta() { "$MLPIPE" meta --db "$P/runs/m.db" "$@"; }
# 178 rows like a public wine dataset; row 6 (line 7) has 'abc' for ash
{
	echo "alcohol,ash,color,class"
	for i in $(seq 0 177); do
		ash="$((i % 13)).$((i % 10))"
		[ "$i" = 5 ] && ash=abc
		echo "$((11 + i % 4)).$((i * 7 % 100)),$ash,$((i % 9)).$((i % 7))$((i % 5)),$((i % 3))"
	done
} >"$P/data/wine.csv"
cat >"$P/wine.yaml" <<'YAML'
pipeline: { name: wine, root: runs, metadata: runs/m.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/wine.csv, label: class, eval_fraction: 0.2 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: schema
    type: SchemaGen
    inputs: { statistics: statistics.statistics }
  - id: validate
    type: ExampleValidator
    inputs: { statistics: statistics.statistics, schema: schema.schema }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
YAML
# the default: the cell is an error naming its place
expect_exit 1 "$MLPIPE" run "$P/wine.yaml"
expect_out "data/wine.csv:7:"
expect_out "'abc' is not a number, but column 'ash' is numeric"
# on_bad_value: missing: a missing value, counted, and an anomaly
expect_exit 0 "$MLPIPE" run "$P/wine.yaml" --set ingest.on_bad_value=missing
expect_exit 0 meta --json run last
expect_jq '.executions[0].metrics | map(select(.name == "bad_values")) | .[0].value == 1'
expect_jq '.executions[3].metrics | map(select(.name == "anomalies")) | .[0].value >= 1'
anomalies=$(ls -t "$P"/runs/wine/validate/anomalies/*/anomalies.tsv | head -1)
grep -q "	ash	bad_values	1 cells were not numbers" "$anomalies" && ok || not_ok "no bad_values anomaly: $(cat "$anomalies")"
grep -q "^feature	ash	float$" "$(ls -d "$P"/runs/wine/ingest/examples/* | tail -1)/examples.meta" && ok || not_ok "ash is not numeric"
# ash forced to text: the validator flags a string feature of numbers, and
# the Transform refuses to one-hot its ~130 values
expect_exit 1 "$MLPIPE" run "$P/wine.yaml" --set 'ingest.string_columns=[ash]'
expect_out "has 1"
expect_out "distinct values in"
expect_out "more than max_vocabulary"
anomalies=$(ls -t "$P"/runs/wine/validate/anomalies/*/anomalies.tsv | head -1)
grep -q "	ash	numeric_strings	a string feature, but 1[0-9]* of its 1[0-9]* values are numbers" "$anomalies" && ok ||
	not_ok "no numeric_strings anomaly: $(cat "$anomalies")"
# ... unless a rule asks for it
expect_exit 0 "$MLPIPE" run "$P/wine.yaml" --set 'ingest.string_columns=[ash]' --set 'transform.rules={ash: onehot}'

# a model's NaN metric never passes a threshold: AUC is NaN for 3 classes,
# so even a change threshold with no baseline fails instead of not counting
cat >>"$P/wine.yaml" <<'YAML'
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples, transform: transform.transform }
    params: { apply_transform: true, epochs: 3, model: { layers: [ {dense: 8, activation: relu}, {dense: auto} ] } }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { thresholds: { auc: { max_drop: 0.1 } } }
YAML
expect_exit 0 "$MLPIPE" run "$P/wine.yaml" --set ingest.on_bad_value=missing
blessing=$(ls -t "$P"/runs/wine/evaluate/blessing/*/blessing.tsv | head -1)
grep -q "^threshold	auc	max_drop	0.1	value	nan	failed$" "$blessing" && ok || not_ok "a NaN metric passed: $(cat "$blessing")"
grep -q "^blessed	no$" "$blessing" && ok || not_ok "blessed on a NaN metric"

# empty data: a header and no rows fails where rows are first needed, naming the split
echo "alcohol,ash,color,class" >"$P/data/empty.csv"
expect_exit 1 "$MLPIPE" run "$P/wine.yaml" --set ingest.path=data/empty.csv
expect_out "transform  failed after"
expect_out "split 'train' has no rows: there is nothing to fit the transform on"
ex=$(ls -td "$P"/runs/wine/ingest/examples/* | head -1)
expect_exit 2 "$MLPIPE" component Trainer --input "examples=$ex" --output model="$TMP/m" --param model='{layers: [{dense: 1}]}' --param loss=mse
expect_err "split 'train' has no rows: there is nothing to train on"
[ ! -e "$TMP/m" ] && ok || not_ok "a failed Trainer left a model"
finish
