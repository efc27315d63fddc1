# The data components in a pipeline: ExampleGen -> StatisticsGen -> SchemaGen
# -> ExampleValidator on the shipped penguins CSV and on spans that drift;
# bad data fails the run with the file, line and column.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/penguins.yaml" "$P/"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
meta() { "$MLPIPE" meta --db "$P/runs/metadata.db" "$@"; }

expect_exit 0 "$MLPIPE" run "$P/penguins.yaml"
expect_out "penguins#1 COMPLETE"
expect_exit 0 meta --json run last
expect_jq '.executions | map(.state) == ["COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"]'
model=$(jq -r '.executions[5].outputs[0].uri' "$TMP/out")/model.mlpm
# the first model is judged on value thresholds alone, and blessed
expect_jq '.executions[6].inputs | map(.name) == ["examples", "model"]'
expect_jq '.executions[6].metrics | map(select(.name == "blessed")) | .[0].value == 1'
grep -q "^baseline	none$" "$P"/runs/penguins/evaluate/blessing/*/blessing.tsv && ok || not_ok "the first blessing should have no baseline"
# the metrics per species, as slice_by asks
[ "$(grep -c "^slice	species	" "$P"/runs/penguins/evaluate/evaluation/*/evaluation.tsv)" = 3 ] && ok || not_ok "no slice per species"
# the blessed model is pushed as version 1
[ -f "$P/serving/penguins/1/model.mlpm" ] && ok || not_ok "version 1 was not pushed"
cmp -s "$P/serving/penguins/1/model.mlpm" "$model" && ok || not_ok "the pushed model differs from the trained one"
# the network tells the species apart on the held-out split
expect_jq '.executions[6].metrics | map(select(.name == "accuracy")) | .[0].value >= 0.95'
model=$(jq -r '.executions[5].outputs[0].uri' "$TMP/out")/model.mlpm
[ "$(head -c 4 "$model")" = MLPM ] && ok || not_ok "no model file"
expect_jq '.executions[0].metrics | map({(.name): .value}) | add | .rows_train + .rows_eval + .rows_validation == 344'
expect_jq '.executions[3].metrics | map(select(.name == "anomalies")) | .[0].value == 0'
stats_id=$(jq -r '.executions[1].outputs[0].id' "$TMP/out")
ex_dir=$(jq -r '.executions[0].outputs[0].uri' "$TMP/out")
[ -f "$ex_dir/examples.meta" ] && [ -f "$ex_dir/train/shard-00000.rec" ] && ok || not_ok "no shards in the Examples artifact"
grep -q "^label	species$" "$ex_dir/examples.meta" && ok || not_ok "label not recorded"
expect_exit 0 meta stats "$stats_id" --split train
expect_out "species"
expect_out "3 distinct: Adelie"
expect_out "body_mass_g"
expect_exit 0 meta --json stats "$stats_id"
expect_jq 'map(select(.feature == "sex" and .split == "train")) | .[0].missing > 0'
expect_jq 'map(.split) | unique == ["eval", "train", "validation"]'
schema=$(ls "$P"/runs/penguins/schema/schema/*/schema.yaml)
grep -q 'values: \["Adelie", "Gentoo", "Chinstrap"\]' "$schema" && ok || not_ok "species vocabulary not in the schema"

# unchanged: all cached; the hash split is the same
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml"
expect_out "0 ran, 8 cached"

# another model: the latest blessed one (run 1's) is found in the store as its baseline
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set train.epochs=25
expect_exit 0 meta --json run last
expect_jq '.executions[6].inputs | map(.name) == ["examples", "model", "baseline_model"]'
expect_jq '(.executions[6].inputs[2].id) != (.executions[6].inputs[1].id) and (.executions[6].inputs[2].id | type) == "number"'
expect_jq '.executions[6].metrics | map(select(.name == "blessed")) | .[0].value == 1'
[ -f "$P/serving/penguins/2/model.mlpm" ] && ok || not_ok "the second blessed model was not pushed as version 2"
# meta diff: the runs as they were named, numeric params as differences, lists on one line
expect_exit 0 meta diff penguins#1 last --all
expect_out "penguins#1"
expect_out "last"
grep -Eq "^param +train\.epochs +30 +25 +-5$" "$TMP/out" && ok || not_ok "epochs not shown as -5: $(grep epochs "$TMP/out")"
grep -Eq "^param +evaluate\.slice_by +\[species, island, body_mass_g\] +\[species, island, body_mass_g\] +0$" "$TMP/out" &&
	ok || not_ok "a list param is not on one line: $(grep slice_by "$TMP/out")"
cmp -s "$P/serving/penguins/1/model.mlpm" "$model" && ok || not_ok "version 1 was overwritten"
# thresholds it cannot meet: not blessed, which is an outcome, not a failure
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set train.epochs=24 --set 'evaluate.thresholds={accuracy: {min: 1.5}}'
expect_out "COMPLETE"
expect_exit 0 meta --json run last
expect_jq '.executions[6].metrics | map(select(.name == "blessed")) | .[0].value == 0'
# ... and not pushed
[ ! -e "$P/serving/penguins/3" ] && ok || not_ok "a model that is not blessed was pushed"
expect_jq '.executions[7].metrics | map(select(.name == "pushed")) | .[0].value == 0'
[ -z "$(ls -A "$P/serving/penguins" | grep -v '^[0-9]*$')" ] && ok || not_ok "a temporary push folder was left behind"
expect_exit 0 meta artifacts --type PushedModel
expect_out "pushed_model"
expect_exit 0 meta metrics --name accuracy --component evaluate
expect_out "evaluate"
# a format the Pusher does not write is refused before anything runs
expect_exit 2 "$MLPIPE" run "$P/penguins.yaml" --set 'push.formats=[native, tflite]'
expect_err "param formats: 'tflite' is not one of native, c, onnx"
[ ! -e "$P/serving/penguins/3" ] && ok || not_ok "a failed push published a version"
expect_exit 1 "$MLPIPE" run "$P/penguins.yaml" --set 'push.formats=[]'
expect_out "formats: name at least one (native, c, onnx)"
[ ! -e "$P/serving/penguins/3" ] && ok || not_ok "a failed push published a version"
# the push rule: a model reaches serving only when nothing is served there
# yet or its blessing was judged against the model served there now, and
# never when it is that model.  A threshold change alone judges version 2's
# model again: it is not pushed again.
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set train.epochs=25 --set 'evaluate.thresholds={accuracy: {min: 0.8}}'
expect_exit 0 meta --json run last
expect_jq '.executions[6].state == "COMPLETE" and .executions[7].state == "COMPLETE"'
expect_exit 0 meta --json artifacts --type PushedModel --pipeline penguins
expect_jq '.[-1].properties.pushed == 0 and .[-1].properties.reason == "same as version 2"'
[ ! -e "$P/serving/penguins/3" ] && ok || not_ok "the model served as version 2 was pushed again"
[ "$(cat "$P/serving/penguins/2/model.sha256")" = "$(sha256sum <"$P/serving/penguins/2/model.mlpm" | cut -d' ' -f1)" ] &&
	ok || not_ok "version 2's model.sha256 is not its model's hash"
# another pipeline's model, blessed without a baseline, does not replace
# what this one serves at the same destination
sed -e 's/name: penguins/name: rival/' -e 's/epochs: 30/epochs: 20/' "$P/penguins.yaml" >"$P/rival.yaml"
expect_exit 0 "$MLPIPE" run "$P/rival.yaml"
expect_exit 0 meta --json artifacts --type PushedModel --pipeline rival
expect_jq '.[-1].properties.pushed == 0'
expect_jq '.[-1].properties.reason == "the blessing was judged against no baseline, not against version 2 served at the destination now"'
[ ! -e "$P/serving/penguins/3" ] && ok || not_ok "a model judged against nothing replaced the served one"
# a new model of this pipeline is judged against the served one and pushed,
# found past more than a page (64) of newer blessings and pushes that do
# not count, as in a store of years of scheduled runs
expect_exit 0 "$HELPERS/mkfixture" --bury "$P/runs/metadata.db" penguins "$P/runs" 70
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set 'train.optimizer={name: adam, lr: 0.02}'
expect_exit 0 meta --json run last
served2=$(jq -r '.executions[7].inputs[0].id' <(meta --json run penguins#3))
expect_jq ".executions[6].inputs[2].id == $served2"
expect_exit 0 meta --json artifacts --type PushedModel --pipeline penguins
expect_jq '.[-1].properties.pushed == 1 and .[-1].properties.version == 3'
grep -q "^replaces	2$" "$(jq -r '.[-1].uri' "$TMP/out")/pushed.tsv" && ok || not_ok "pushed.tsv does not say it replaces version 2"

# a threshold on a metric that does not exist is refused before anything runs
expect_exit 2 "$MLPIPE" run "$P/penguins.yaml" --set 'evaluate.thresholds={acuracy: {min: 0.5}}'
expect_err "param thresholds: unknown metric 'acuracy' (did you mean 'accuracy'?) (column 2 of the value)"

# a pinned, curated schema that the data breaks: the run fails with the list
sed -e 's/"Adelie", //' "$schema" >"$P/curated.yaml"
cat >>"$P/penguins.yaml" <<'YAML'
  - id: pinned
    type: SchemaGen
    params: { schema: curated.yaml }
  - id: strict
    type: ExampleValidator
    inputs: { statistics: statistics.statistics, schema: pinned.schema }
    params: { fail_on_anomalies: true }
YAML
expect_exit 1 "$MLPIPE" run "$P/penguins.yaml"
expect_out "strict     failed after"
grep -q "train/species unseen_values" "$TMP/out" && ok || not_ok "the failure does not name the anomaly"

# spans: the newest is ingested, and the validator compares it with the
# previous span's statistics found in the store
mkdir -p "$P/spans"
cat >"$P/spans.yaml" <<'YAML'
pipeline: { name: spans, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: 'spans/day-{SPAN}.csv', label: y }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: schema
    type: SchemaGen
    inputs: { statistics: statistics.statistics }
  - id: validate
    type: ExampleValidator
    inputs: { statistics: statistics.statistics, schema: schema.schema }
YAML
{ echo "x,c,y"; for i in $(seq 50); do echo "$((i % 10)),$([ $((i % 2)) = 0 ] && echo a || echo b),$((i % 2))"; done; } >"$P/spans/day-1.csv"
expect_exit 0 "$MLPIPE" run "$P/spans.yaml"
expect_exit 0 meta --json artifacts --type Examples --pipeline spans
expect_jq '.[-1].properties.span == 1'
expect_exit 0 meta --json run last
expect_jq '.executions[3].inputs | map(.name) == ["statistics", "schema"]'
# day 2 looks like day 1: no drift, but the baseline is used
{ echo "x,c,y"; for i in $(seq 50); do echo "$(((i + 1) % 10)),$([ $((i % 2)) = 1 ] && echo a || echo b),$((i % 2))"; done; } >"$P/spans/day-2.csv"
expect_exit 0 "$MLPIPE" run "$P/spans.yaml"
expect_exit 0 meta --json artifacts --type Examples --pipeline spans
expect_jq '.[-1].properties.span == 2'
expect_exit 0 meta --json run last
expect_jq '.executions[3].inputs | map(.name) | sort == ["baseline", "schema", "statistics"]'
expect_jq '.executions[3].metrics | map(select(.name == "anomalies")) | .[0].value == 0'
# day 3 drifts
{ echo "x,c,y"; for i in $(seq 50); do echo "$((i % 10 + 40)),a,$((i % 2))"; done; } >"$P/spans/day-3.csv"
expect_exit 0 "$MLPIPE" run "$P/spans.yaml"
anomalies=$(ls -t "$P"/runs/spans/validate/anomalies/*/anomalies.tsv | head -1)
grep -q "^train	x	drift	" "$anomalies" && ok || not_ok "numeric drift not found"
grep -q "^train	c	drift	" "$anomalies" && ok || not_ok "categorical drift not found"

# bad data: the run fails, naming the file, line and column
printf 'x,c,y\n1,a,0\n2,b,1\n' >"$P/spans/day-4.csv"
printf 'oops\n' >>"$P/spans/day-4.csv"
expect_exit 1 "$MLPIPE" run "$P/spans.yaml"
expect_out "day-4.csv:4:5: 1 fields, but there are 3 columns"
expect_out "statistics canceled"
[ -z "$(ls -A "$P/runs/spans/.staging")" ] && ok || not_ok "a failed ingest left staging behind"
[ "$(ls "$P/runs/spans/ingest/examples" | wc -l)" = 3 ] && ok || not_ok "a failed ingest published an artifact"
# an output that nothing reads is not written: the Trainer applies the
# transform itself, so the Transform's transformed_examples is left out (no
# folder, no artifact, recorded as not_produced) unless keep_outputs names it
sed -e 's/name: penguins/name: lean/' \
    -e 's|inputs: { examples: transform.transformed_examples, transform: transform.transform }|inputs: { examples: ingest.examples, transform: transform.transform }|' \
    -e 's/early_stopping: { metric: val_loss, patience: 5 }/early_stopping: { metric: val_loss, patience: 5 }\n      apply_transform: true/' \
    "$REPO/pipelines/penguins.yaml" >"$P/lean.yaml"
expect_exit 0 "$MLPIPE" dag "$P/lean.yaml"
expect_out "[not produced, nothing reads it: transformed_examples]"
expect_exit 0 "$MLPIPE" run "$P/lean.yaml"
expect_out "lean#1 COMPLETE"
expect_exit 0 meta --json run lean#1
expect_jq '.executions[4].outputs | map(.name) == ["transform"]'
expect_jq '.executions[4].params.not_produced == "transformed_examples"'
expect_jq '.executions[4].metrics | map(.name) | index("rows_without_label") == null'
[ ! -e "$P/runs/lean/transform/transformed_examples" ] && ok || not_ok "an output nobody reads was written"
sed 's/params: { rules: { year: drop } }/params: { rules: { year: drop } }\n    keep_outputs: [transformed_examples]/' "$P/lean.yaml" >"$P/lean2.yaml"
mv "$P/lean2.yaml" "$P/lean.yaml"
expect_exit 0 "$MLPIPE" run "$P/lean.yaml"
expect_exit 0 meta --json run last
expect_jq '.executions[4].state == "COMPLETE" and (.executions[4].outputs | map(.name) == ["transform", "transformed_examples"])'
[ -f "$P"/runs/lean/transform/transformed_examples/*/examples.meta ] && ok || not_ok "keep_outputs did not write the output"
sed -i 's/keep_outputs: \[transformed_examples\]/keep_outputs: [transform]/' "$P/lean.yaml"
expect_exit 2 "$MLPIPE" run "$P/lean.yaml"
expect_err "lean.yaml:35:20: keep_outputs: Transform has no output 'transform' that is left out when unread"
finish
