# Boosted trees (model: {gbdt: ...}) from the pipeline file to serving:
# each loss on the penguins, missing values left to the trees, the
# Evaluator (with permutation importance), InfraValidator (mlpipe serve),
# BulkInferrer and the Pusher on them; predict, the C export and the ONNX
# export agree; the importance files; mistakes in the model param are
# load-time errors with positions.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"

# pipeline NAME LABEL LOSS: ingest, statistics, a transform that keeps
# numbers as they are (a missing one stays NaN, for the trees to route),
# boosted trees, an evaluation, InfraValidator, BulkInferrer and a push
pipeline() {
	cat >"$P/$1.yaml" <<EOF
pipeline: { name: $1, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/penguins.csv, label: $2, eval_fraction: 0.2, validation_fraction: 0.15 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { numbers: none, rules: { year: drop } }
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params:
      model: { gbdt: { rounds: 60, max_depth: 3, eta: 0.2, subsample: 0.9 } }
      loss: $3
      threads: 1
      early_stopping: { metric: val_loss, patience: 8 }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { feature_importance: permutation, importance_repeats: 4 }
  - id: infra
    type: InfraValidator
    inputs: { model: train.model, examples: ingest.examples }
  - id: score
    type: BulkInferrer
    inputs: { examples: ingest.examples, model: train.model, blessing: evaluate.blessing }
  - id: push
    type: Pusher
    inputs: { model: train.model, blessing: evaluate.blessing, infra_blessing: infra.infra_blessing }
    params: { destination: serving/$1, formats: [native, c, onnx] }
EOF
}

# check NAME LABEL LOSS: the pipeline runs, and its model is the same
# wherever it is used
check() {
	local name=$1 v
	pipeline "$@"
	expect_exit 0 "$MLPIPE" --quiet run "$P/$name.yaml"
	v=$P/serving/$name/1
	for f in model.mlpm model.c model.onnx; do
		[ -s "$v/$f" ] && ok || not_ok "$name: the Pusher did not write $f"
	done
	expect_exit 0 "$MLPIPE" meta --db "$P/runs/metadata.db" --json artifacts --type InfraBlessing
	expect_jq '.[-1].properties.blessed == 1'
	expect_exit 0 "$MLPIPE" predict "$v" "$P/data/penguins.csv" -o "$TMP/$name.csv"
	exports_agree "$name" "$v" "$P/data/penguins.csv" "$TMP/$name.csv" 1e-6 1e-5
	# mlpipe export writes what the Pusher did (but for the comment naming the model file)
	mkdir -p "$TMP/$name-x"
	expect_exit 0 "$MLPIPE" export "$v" --format c -o "$TMP/$name-x/model"
	cmp -s <(tail -n +2 "$TMP/$name-x/model.c") <(tail -n +2 "$v/model.c") && ok || not_ok "$name: export and Pusher wrote different C"
	# BulkInferrer scored the eval split as predict does
	expect_exit 0 "$MLPIPE" meta --db "$P/runs/metadata.db" --json artifacts --type InferenceResult
	[ -s "$(jq -r '.[-1].uri' "$TMP/out")/predictions.csv" ] && ok || not_ok "$name: BulkInferrer wrote nothing"
}

# ---- softmax: the species, from numbers with missing values and one-hot strings
check species species softmax_cross_entropy
DB=$P/runs/metadata.db
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component evaluate
expect_jq 'map(select(.name == "accuracy"))[-1].value >= 0.95'
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component train --name val_loss --all-steps
# a curve per round, and the kept model's value at step 0
expect_jq 'map(select(.step > 0)) | length >= 10'
IMP=$(ls "$P"/runs/species/train/model/*/importance.tsv)
[ "$(head -1 "$IMP")" = "$(printf 'feature\tgain\tshare')" ] && ok || not_ok "importance.tsv's header: $(head -1 "$IMP")"
# bill length and flipper length tell the species apart; the shares add up to 1
awk -F'\t' 'NR > 1 { s += $3; if (NR <= 3) top = top " " $1 } END { exit !(s > 0.999 && s < 1.001 && top ~ /bill_length_mm|flipper_length_mm/) }' "$IMP" &&
	ok || not_ok "importance: $(head -4 "$IMP" | tr '\n' ' ')"
# the rows with a missing measurement are predicted (the trees route NaN), not dropped
grep -c . "$TMP/species.csv" | grep -qx 345 && ok || not_ok "predict gave $(grep -c . "$TMP/species.csv") lines"

# permutation importance on eval: the species hangs on the bill and the island, not on the sex
PI=$(ls "$P"/runs/species/evaluate/evaluation/*/importance.tsv)
[ "$(head -1 "$PI")" = "$(printf 'feature\timportance\tstd\taccuracy')" ] && ok || not_ok "importance.tsv's header: $(head -1 "$PI")"
awk -F'\t' 'NR == 2 { top = $1 } $1 == "sex" { sex = $2 } END { exit !((top == "bill_length_mm" || top == "island" || top == "flipper_length_mm") && sex < 0.02) }' "$PI" &&
	ok || not_ok "permutation importance: $(tr '\n' ' ' <"$PI")"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component evaluate
expect_jq 'map(select(.name | startswith("importance:"))) | length == 6'
# seeded: the same shuffles again give the same figures
cp "$PI" "$TMP/pi1.tsv"
expect_exit 0 "$MLPIPE" --quiet run "$P/species.yaml" --no-cache
PI2=$(ls -t "$P"/runs/species/evaluate/evaluation/*/importance.tsv | head -1)
[ "$PI2" != "$PI" ] && cmp -s "$PI2" "$TMP/pi1.tsv" && ok || not_ok "permutation importance is not the same on a rerun"
# the run report draws the importance and the per-round curves, well-formed
expect_exit 0 "$MLPIPE" report --db "$DB" "species#1" -o "$TMP/report.html"
grep -q "Feature importance: train" "$TMP/report.html" && ok || not_ok "the report lacks the trees' importance"
grep -q "Feature importance: evaluate" "$TMP/report.html" && ok || not_ok "the report lacks the permutation importance"
grep -q "bill_length_mm" "$TMP/report.html" && ok || not_ok "the importance lacks its features"
if command -v xmllint >/dev/null; then
	xmllint --html --noout "$TMP/report.html" 2>"$TMP/xml.err" && ok || { not_ok "the report is not well-formed:"; head -3 "$TMP/xml.err"; }
fi

# ---- logistic: the sex (a string label with missing values)
check sex sex binary_cross_entropy
[ "$(head -1 "$TMP/sex.csv")" = "class,p_female,p_male" ] && ok || not_ok "sex's header: $(head -1 "$TMP/sex.csv")"

# ---- a regression: body mass in grams
check mass body_mass_g mse
[ "$(head -1 "$TMP/mass.csv")" = value ] && ok || not_ok "mass's header: $(head -1 "$TMP/mass.csv")"

# ---- what the trees cannot take, said in one line when the Trainer starts
# three species are no 0/1 label for a logistic loss
expect_exit 1 "$MLPIPE" run "$P/species.yaml" --set train.loss=binary_cross_entropy
grep -q "is not in \[0, 1\] (binary_cross_entropy)" "$TMP/out" "$TMP/err" && ok || not_ok "a 3-class label under bce: $(tail -3 "$TMP/out")"
# a warm start is for networks: the pushed model is not continued
expect_exit 1 "$MLPIPE" run "$P/species.yaml" --set train.warm_start=true
grep -q "boosted trees start afresh" "$TMP/out" "$TMP/err" && ok || not_ok "a warm start of trees: $(tail -3 "$TMP/out")"

# ---- a damaged booster is refused with the checksum
cp "$P/serving/species/1/model.mlpm" "$TMP/bad.mlpm"
SIZE=$(stat -c %s "$TMP/bad.mlpm")
printf 'X' | dd of="$TMP/bad.mlpm" bs=1 seek=$((SIZE - 100)) conv=notrunc 2>/dev/null
expect_exit 2 "$MLPIPE" predict "$TMP/bad.mlpm" "$P/data/penguins.csv"
expect_err "is damaged (checksum mismatch)"

# ---- mistakes in the model param, found before anything runs
pipeline bad species softmax_cross_entropy
sed 's/model: { gbdt: { rounds: 60, max_depth: 3, eta: 0.2, subsample: 0.9 } }/model: { layers: [{dense: 4}], gbdt: { rounds: 5 } }/' \
	"$P/bad.yaml" >"$P/bad2.yaml"
expect_exit 2 "$MLPIPE" run "$P/bad2.yaml"
expect_err "bad2.yaml:17:38: param model: 'layers' and 'gbdt' exclude each other"
sed 's/rounds: 60,/roundz: 60,/' "$P/bad.yaml" >"$P/bad3.yaml"
expect_exit 2 "$MLPIPE" run "$P/bad3.yaml"
expect_err "bad3.yaml:17:24: param model.gbdt: unknown key 'roundz' (did you mean 'rounds'?)"
sed 's/eta: 0.2/eta: 2/' "$P/bad.yaml" >"$P/bad4.yaml"
expect_exit 2 "$MLPIPE" run "$P/bad4.yaml"
expect_err "bad4.yaml:17:55: param model.gbdt.eta: 2 is out of range (1e-06 to 1)"
sed 's/model: { gbdt: { rounds: 60, max_depth: 3, eta: 0.2, subsample: 0.9 } }/model: {}/' "$P/bad.yaml" >"$P/bad5.yaml"
expect_exit 2 "$MLPIPE" run "$P/bad5.yaml"
expect_err "param model: needs 'layers' or 'gbdt'"
finish
