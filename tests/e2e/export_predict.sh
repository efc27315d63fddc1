# A trained model outside the pipeline: `mlpipe predict` on CSV and IDX,
# `mlpipe export` to C (compiled with cc -lm and run) and to ONNX (run in
# ONNX Runtime), each agreeing with predict within 1e-5; the Pusher's
# formats; bad input, and damaged model files, refused in one line.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$E2E_DIR/../.." && pwd)
ORT_DIR="$REPO/tests/node"
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/penguins.yaml" "$P/"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"

# same FILE1 FILE2: the same classes row by row, probabilities within 1e-5
same() {
	if [ "$(wc -l <"$1")" -ne "$(wc -l <"$2")" ]; then not_ok "$1 and $2 differ in length"; return; fi
	paste -d, "$1" "$2" | awk -F, -v a="$1" -v b="$2" '
		NR == 1 { next }
		{ n = NF / 2; if ($1 "" != $(n + 1) "") bad++
		  for (i = 2; i <= n; i++) { d = $i - $(n + i); if (d < 0) d = -d; if (d > m) m = d } }
		END { if (bad || m > 1e-5) { printf "%s vs %s: %d classes differ, max difference %g\n", a, b, bad, m; exit 1 } }' &&
		ok || not_ok "predictions differ"
}

# same_values FILE1 FILE2: every column a number within 1e-5 (NaN equal to NaN)
same_values() {
	if [ "$(wc -l <"$1")" -ne "$(wc -l <"$2")" ]; then not_ok "$1 and $2 differ in length"; return; fi
	paste -d, "$1" "$2" | awk -F, -v a="$1" -v b="$2" '
		NR == 1 { next }
		{ n = NF / 2
		  for (i = 1; i <= n; i++) {
			x = tolower($i); y = tolower($(n + i)); sub(/^-nan$/, "nan", x); sub(/^-nan$/, "nan", y)
			if (x == "nan" || y == "nan") { if (x != y) bad++; continue }
			d = $i - $(n + i); if (d < 0) d = -d; if (d > m) m = d } }
		END { if (bad || m > 1e-5) { printf "%s vs %s: %d NaN mismatches, max difference %g\n", a, b, bad, m; exit 1 } }' &&
		ok || not_ok "values differ"
}

# same_rel FILE1 FILE2: every column a number within 1e-6 of its size (values
# in grams, where float32 holds 7 digits)
same_rel() {
	if [ "$(wc -l <"$1")" -ne "$(wc -l <"$2")" ]; then not_ok "$1 and $2 differ in length"; return; fi
	paste -d, "$1" "$2" | awk -F, -v a="$1" -v b="$2" '
		NR == 1 { next }
		{ n = NF / 2
		  for (i = 1; i <= n; i++) {
			x = tolower($i); y = tolower($(n + i))
			if (x ~ /nan/ || y ~ /nan/) { if ((x ~ /nan/) != (y ~ /nan/)) bad++; continue }
			d = $i - $(n + i); if (d < 0) d = -d; s = $i < 0 ? -$i : $i; if (s < 1) s = 1
			if (d / s > m) m = d / s } }
		END { if (bad || m > 1e-6) { printf "%s vs %s: %d NaN mismatches, max relative difference %g\n", a, b, bad, m; exit 1 } }' &&
		ok || not_ok "values differ"
}

# onnx MODEL CSV OUT: runs the model in ONNX Runtime (Node.js)
have_ort() { command -v node >/dev/null && [ -d "$ORT_DIR/node_modules/onnxruntime-node" ]; }
if ! have_ort; then
	if [ "${CI:-}" = true ]; then not_ok "onnxruntime-node is not installed: make deps installs it"; else
		echo "note: onnxruntime-node is not installed (make deps installs it): the ONNX checks are skipped"; fi
fi

# exports NAME MODEL CSV PRED COMPARE: the C export (compiled with nothing
# but cc and libm, run by export_main.c) and the ONNX export (run in ONNX
# Runtime) predict what predict wrote to PRED, by COMPARE (same or
# same_values); they are left in $TMP/NAME/model.c and $TMP/NAME.onnx
exports() {
	local name=$1 model=$2 csv=$3 pred=$4 compare=$5
	mkdir -p "$TMP/$name"
	expect_exit 0 "$MLPIPE" export "$model" --format c -o "$TMP/$name/model"
	if cc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I "$TMP/$name" "$E2E_DIR/export_main.c" "$TMP/$name/model.c" \
		-lm -o "$TMP/$name/run" 2>"$TMP/cc.err"; then ok; else not_ok "$name: the exported C does not compile:"; head -5 "$TMP/cc.err"; fi
	"$TMP/$name/run" "$csv" >"$TMP/$name-c.csv" && ok || not_ok "$name: the C program failed"
	$compare "$pred" "$TMP/$name-c.csv"
	expect_exit 0 "$MLPIPE" export "$model" --format onnx -o "$TMP/$name.onnx"
	if have_ort; then
		node "$ORT_DIR/onnx_predict.js" "$TMP/$name.onnx" "$csv" >"$TMP/$name-onnx.csv" 2>"$TMP/node.err" && ok ||
			{ not_ok "$name: ONNX Runtime failed:"; head -5 "$TMP/node.err"; }
		$compare "$pred" "$TMP/$name-onnx.csv"
	fi
}

# ---- a tabular model: numbers (z-scores, missing values) and strings (one-hot)
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set 'push.formats=[native, c, onnx]'
V1=$P/serving/penguins/1
for f in model.mlpm model.c model.h model.onnx; do
	[ -s "$V1/$f" ] && ok || not_ok "the Pusher did not write $f"
done
grep -q "^formats	native	c	onnx$" "$P"/runs/penguins/push/pushed_model/*/pushed.tsv && ok || not_ok "pushed.tsv lacks the formats"

expect_exit 0 "$MLPIPE" predict "$V1" "$P/data/penguins.csv" -o "$TMP/pred.csv"
expect_err "predicted 344 examples"
[ "$(head -1 "$TMP/pred.csv")" = "class,p_Adelie,p_Chinstrap,p_Gentoo" ] && ok || not_ok "predict's header: $(head -1 "$TMP/pred.csv")"
[ "$(wc -l <"$TMP/pred.csv")" = 345 ] && ok || not_ok "one row per example"
# the classes are right (the network learns the species) and the probabilities add up to 1
paste -d, <(cut -d, -f1 "$P/data/penguins.csv") "$TMP/pred.csv" | awk -F, 'NR > 1 { n++; c += $1 == $2; s = $3 + $4 + $5; if (s < 0.9999 || s > 1.0001) bad++ }
	END { exit !(c / n >= 0.95 && !bad) }' && ok || not_ok "predictions are not the species"
# to stdout, the same
expect_exit 0 "$MLPIPE" predict "$V1/model.mlpm" "$P/data/penguins.csv"
cmp -s "$TMP/out" "$TMP/pred.csv" && ok || not_ok "stdout and -o differ"

# the C and ONNX exports predict the same, and are what the Pusher wrote
# (the C but for the first line's comment, which names the model file)
exports penguins "$V1" "$P/data/penguins.csv" "$TMP/pred.csv" same
cmp -s <(tail -n +2 "$TMP/penguins/model.c") <(tail -n +2 "$V1/model.c") && ok || not_ok "export and Pusher wrote different C"
cmp -s "$TMP/penguins.onnx" "$V1/model.onnx" && ok || not_ok "export and Pusher wrote different ONNX"

# ---- images: IDX files as Fashion-MNIST's, 2x2 pixels, class 1 when the
# top row is brighter than the bottom one
bytes() { local v; for v in "$@"; do printf "\\x$(printf %02x "$v")"; done; }
idx() { # idx NAME COUNT SEED: images and labels
	local n=$2 s=$3 i a b c d
	{ bytes 0 0 8 3 0 0 0 "$n" 0 0 0 2 0 0 0 2
	  for ((i = 0; i < n; i++)); do
		a=$(((i * 37 + s) % 256)); b=$(((i * 91 + 3 * s) % 256)); c=$(((i * 53 + 7) % 256)); d=$(((i * 29 + 11 * s) % 256))
		bytes $a $b $c $d
	  done; } | gzip -n >"$P/data/$1-images-idx3-ubyte.gz"
	{ bytes 0 0 8 1 0 0 0 "$n"
	  for ((i = 0; i < n; i++)); do
		a=$(((i * 37 + s) % 256)); b=$(((i * 91 + 3 * s) % 256)); c=$(((i * 53 + 7) % 256)); d=$(((i * 29 + 11 * s) % 256))
		bytes $((a + b > c + d))
	  done; } | gzip -n >"$P/data/$1-labels-idx1-ubyte.gz"
	# the same pixels as CSV, for the C and ONNX programs
	{ echo pixel0,pixel1,pixel2,pixel3
	  for ((i = 0; i < n; i++)); do
		echo $(((i * 37 + s) % 256)),$(((i * 91 + 3 * s) % 256)),$(((i * 53 + 7) % 256)),$(((i * 29 + 11 * s) % 256))
	  done; } >"$P/data/$1.csv"
}
idx train 120 5
idx t10k 40 9
cat >"$P/images.yaml" <<'EOF'
pipeline: { name: images, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params:
      format: idx
      splits: { train: data/train-images-idx3-ubyte.gz, eval: data/t10k-images-idx3-ubyte.gz }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { numbers: zscore }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples, transform: transform.transform }
    params:
      apply_transform: true
      model: { layers: [ {dense: 8, activation: tanh}, {dense: 2} ] }
      optimizer: { name: adam, lr: 0.05 }
      epochs: 20
EOF
expect_exit 0 "$MLPIPE" run "$P/images.yaml"
IM=$(ls -d "$P"/runs/images/train/model/*)
expect_exit 0 "$MLPIPE" predict "$IM" "$P/data/t10k-images-idx3-ubyte.gz" -o "$TMP/img.csv"
expect_err "predicted 40 examples"
[ "$(head -1 "$TMP/img.csv")" = "class,p_0,p_1" ] && ok || not_ok "predict's header on images: $(head -1 "$TMP/img.csv")"
# the same pixels as CSV give the same predictions
expect_exit 0 "$MLPIPE" predict "$IM" "$P/data/t10k.csv" -o "$TMP/img2.csv"
cmp -s "$TMP/img.csv" "$TMP/img2.csv" && ok || not_ok "IDX and CSV predictions differ"
exports images "$IM" "$P/data/t10k.csv" "$TMP/img.csv" same

# ---- a regression with every other transform: buckets, min-max, a number
# kept as it is (missing stays NaN), z-scores and one-hot
cat >"$P/reg.yaml" <<'EOF'
pipeline: { name: reg }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/penguins.csv, label: body_mass_g, eval_fraction: 0.25 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { rules: { year: drop, bill_length_mm: "bucketize:4", flipper_length_mm: minmax, bill_depth_mm: none } }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples, transform: transform.transform }
    params:
      apply_transform: true
      model: { layers: [ {dense: 8, activation: sigmoid}, {dense: auto} ] }
      loss: mse
      optimizer: { name: adam, lr: 0.05 }
      epochs: 5
EOF
expect_exit 0 "$MLPIPE" run "$P/reg.yaml"
RM=$(ls -d "$P"/runs/reg/train/model/*)
expect_exit 0 "$MLPIPE" predict "$RM" "$P/data/penguins.csv" -o "$TMP/reg.csv"
[ "$(head -1 "$TMP/reg.csv")" = value ] && ok || not_ok "a regression's header: $(head -1 "$TMP/reg.csv")"
grep -qi "^nan$" "$TMP/reg.csv" && ok || not_ok "a missing number kept as it is should give NaN"
exports regression "$RM" "$P/data/penguins.csv" "$TMP/reg.csv" same_values

# ---- the label z-scored for training: predictions, losses and metrics in grams
sed -e 's/name: reg/name: zreg/' -e 's/rules: { year: drop,/rules: { body_mass_g: zscore, year: drop,/' \
	-e 's/epochs: 5/epochs: 30/' "$P/reg.yaml" >"$P/zreg.yaml"
cat >>"$P/zreg.yaml" <<'EOF'
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
EOF
expect_exit 0 "$MLPIPE" run "$P/zreg.yaml"
ZM=$(ls -d "$P"/runs/zreg/train/model/*)
grep -Eq "^label_zscore	4[0-9]{3}(\.[0-9]+)?	[0-9]{3}(\.[0-9]+)?$" "$(ls -d "$P"/runs/zreg/transform/transform/*)/transform.tsv" &&
	ok || not_ok "no label_zscore in the transform: $(grep label "$(ls -d "$P"/runs/zreg/transform/transform/*)/transform.tsv")"
expect_exit 0 "$MLPIPE" predict "$ZM" "$P/data/penguins.csv" -o "$TMP/zreg.csv"
# in grams: the mean prediction is near the mean body mass (4202 g)
awk 'NR > 1 && $1 !~ /nan/ { s += $1; n++ } END { m = s / n; exit !(m > 3800 && m < 4600) }' "$TMP/zreg.csv" &&
	ok || not_ok "predictions are not in grams: $(sed -n 2,4p "$TMP/zreg.csv" | tr '\n' ' ')"
expect_exit 0 "$MLPIPE" meta --db "$P/runs/metadata.db" --json run last
# the Trainer's validation MSE and the Evaluator's are both in grams squared: the same order
expect_jq '(.executions[3].metrics | map(select(.name == "val_loss" and .step == 0)) | .[0].value) as $v |
  (.executions[4].metrics | map(select(.name == "mse")) | .[0].value) as $e | $v > 10000 and $e > 10000 and $v / $e < 10 and $e / $v < 10'
exports zscored "$ZM" "$P/data/penguins.csv" "$TMP/zreg.csv" same_rel
# a z-scored label is for a regression
expect_exit 1 "$MLPIPE" run "$P/zreg.yaml" --set train.loss=softmax_cross_entropy
expect_out "the transform z-scores the label 'body_mass_g': that is for a regression (loss mse), not softmax_cross_entropy"

# ---- a logistic model (one output, binary cross-entropy): two probabilities
sed -e 's/name: reg/name: bce/' -e 's/label: body_mass_g/label: sex/' -e 's/loss: mse/loss: binary_cross_entropy/' \
	-e 's/{dense: auto}/{dense: 1}/' -e 's/bill_length_mm: "bucketize:4", flipper_length_mm: minmax, bill_depth_mm: none/body_mass_g: minmax/' \
	"$P/reg.yaml" >"$P/bce.yaml"
expect_exit 0 "$MLPIPE" run "$P/bce.yaml"
BM=$(ls -d "$P"/runs/bce/train/model/*)
expect_exit 0 "$MLPIPE" predict "$BM" "$P/data/penguins.csv" -o "$TMP/bce.csv"
[ "$(head -1 "$TMP/bce.csv")" = "class,p_female,p_male" ] && ok || not_ok "a logistic model's header: $(head -1 "$TMP/bce.csv")"
exports logistic "$BM" "$P/data/penguins.csv" "$TMP/bce.csv" same

# ---- class names for a numeric label: given, or from a scikit-learn-style first line
awk -F, 'NR == 1 { print "cls," substr($0, index($0, ",") + 1); next }
	{ c = $1 == "Adelie" ? 0 : $1 == "Chinstrap" ? 1 : 2; print c "," substr($0, index($0, ",") + 1) }' \
	"$P/data/penguins.csv" >"$P/data/numbered.csv"
cat >"$P/named.yaml" <<'EOF'
pipeline: { name: named, report: true }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/numbered.csv, label: cls, eval_fraction: 0.25,
              label_names: [Adelie, Chinstrap, Gentoo] }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { rules: { year: drop } }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples, transform: transform.transform }
    params: { apply_transform: true, epochs: 10, optimizer: { name: adam, lr: 0.02 },
              model: { layers: [ {dense: 8, activation: relu}, {dense: auto} ] } }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { slice_by: [cls] }
EOF
expect_exit 0 "$MLPIPE" run "$P/named.yaml"
grep -q "^slice	cls	Chinstrap	examples	" "$P"/runs/named/evaluate/evaluation/*/evaluation.tsv && ok || not_ok "the slices by label are not named"
NM=$(ls -d "$P"/runs/named/train/model/*)
expect_exit 0 "$MLPIPE" predict "$NM" "$P/data/numbered.csv" -o "$TMP/named.csv"
[ "$(head -1 "$TMP/named.csv")" = "class,p_Adelie,p_Chinstrap,p_Gentoo" ] && ok || not_ok "named classes' header: $(head -1 "$TMP/named.csv")"
[ "$(sed -n 2p "$TMP/named.csv" | cut -d, -f1)" = Adelie ] && ok || not_ok "the class is not named: $(sed -n 2p "$TMP/named.csv")"
exports named "$NM" "$P/data/numbered.csv" "$TMP/named.csv" same
grep -q '"Adelie",' "$TMP/named/model.c" && ok || not_ok "the C export lacks the class names"
expect_exit 0 "$MLPIPE" meta --db "$P/runs/metadata.db" --json artifacts --type Examples --pipeline named
expect_jq 'map(select(.name == "examples")) | .[-1].properties.label_names == "Adelie, Chinstrap, Gentoo"'
grep -q ">Chinstrap<" "$P"/runs/named/reports/run-1.html && ok || not_ok "the report does not name the classes"
# the same names from a first line "ROWS,COLUMNS,NAME..." (scikit-learn's iris.csv layout), then no header
{ echo "344,7,Adelie,Chinstrap,Gentoo"; tail -n +2 "$P/data/numbered.csv"; } >"$P/data/sk.csv"
sed -e 's/name: named, report: true/name: sk/' -e 's|path: data/numbered.csv|path: data/sk.csv|' \
	-e "s/label_names: \[Adelie, Chinstrap, Gentoo\]/label_names_line: true, columns: [$(head -1 "$P/data/numbered.csv")]/" \
	"$P/named.yaml" >"$P/sk.yaml"
expect_exit 0 "$MLPIPE" run "$P/sk.yaml"
grep -q "^label_names	Adelie	Chinstrap	Gentoo$" "$(ls -d "$P"/runs/sk/ingest/examples/*)/examples.meta" && ok || not_ok "label_names_line gave no names"
expect_exit 0 "$MLPIPE" predict "$(ls -d "$P"/runs/sk/train/model/*)" "$P/data/numbered.csv" -o "$TMP/sk.csv"
[ "$(head -1 "$TMP/sk.csv")" = "class,p_Adelie,p_Chinstrap,p_Gentoo" ] && ok || not_ok "sk header: $(head -1 "$TMP/sk.csv")"
# names that do not fit the labels are refused
expect_exit 1 "$MLPIPE" run "$P/named.yaml" --set 'ingest.label_names=[Adelie, Chinstrap]'
expect_out "the label 'cls' has values from 0 to 2, but label_names names 2 classes (0 to 1)"
expect_exit 1 "$MLPIPE" run "$P/named.yaml" --set ingest.label=island
expect_out "label_names: the label 'island' is text; its values are its names"

# ---- bad input: one line, exit 2, nothing written
printf 'species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\nAdelie,Dream,39,18,181,3750,male\nAdelie,Dream,39,abc,181,3750,male\n' >"$TMP/bad.csv"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/bad.csv" -o "$TMP/bad.out"
expect_err "bad.csv:3:17: 'abc' is not a number (column 'bill_depth_mm')"
[ ! -e "$TMP/bad.out" ] && ok || not_ok "a failed predict left its output"
[ -z "$(ls "$TMP" | grep '\.tmp')" ] && ok || not_ok "a failed predict left a temporary file"
# --on-bad-row skip: the good rows are predicted, the bad ones counted
printf 'Adelie,Dream,40,18,181,3750,male\n' >>"$TMP/bad.csv"
printf 'Adelie,Dream,39\n' >>"$TMP/bad.csv"
expect_exit 0 "$MLPIPE" predict "$V1" "$TMP/bad.csv" -o "$TMP/skip.out" --on-bad-row skip
grep -q "skipped 2 bad rows (the first: .*bad.csv:3:17: 'abc' is not a number (column 'bill_depth_mm'))" "$TMP/err" &&
	ok || not_ok "no count of the skipped rows: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/skip.out")" = 3 ] && ok || not_ok "skip: $(wc -l <"$TMP/skip.out") lines, wanted a header and 2 rows"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/bad.csv" --on-bad-row ignore
expect_err "--on-bad-row: 'ignore' is not error or skip"
# --skip-rows and --columns, as ExampleGen takes them: a file with a preamble and no header
{ echo "# exported 2026-12-01"; echo "# by hand"; tail -n +2 "$P/data/penguins.csv"; } >"$TMP/noheader.csv"
expect_exit 0 "$MLPIPE" predict "$V1" "$TMP/noheader.csv" -o "$TMP/noheader.out" --skip-rows 2 \
	--columns "$(head -1 "$P/data/penguins.csv")"
cmp -s "$TMP/noheader.out" "$TMP/pred.csv" && ok || not_ok "--skip-rows/--columns predicted otherwise"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/noheader.csv" --skip-rows 2 --columns species,island
expect_err "noheader.csv' has no column 'bill_length_mm', which the model reads"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/noheader.csv" --skip-rows -1
expect_err "--skip-rows: -1 is out of range"
printf 'species,island,bill_length_mm\nAdelie,Dream,39\n' >"$TMP/cols.csv"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/cols.csv"
expect_err "cols.csv' has no column 'bill_depth_mm', which the model reads"
printf 'species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\nAdelie,Dream,39,18\n' >"$TMP/ragged.csv"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/ragged.csv"
expect_err "ragged.csv:2: 4 fields; the header has 7"
expect_exit 2 "$MLPIPE" predict "$V1" "$P/data/t10k-images-idx3-ubyte.gz"
expect_err "holds images, and the model reads strings ('island')"
expect_exit 2 "$MLPIPE" predict "$IM" "$P/data/penguins.csv"
expect_err "penguins.csv' has no column 'pixel0', which the model reads"
gzip -dc "$P/data/t10k-images-idx3-ubyte.gz" | head -c 100 >"$TMP/short-idx3"
expect_exit 2 "$MLPIPE" predict "$IM" "$TMP/short-idx3" -o "$TMP/short.out"
expect_err "short-idx3"
[ ! -e "$TMP/short.out" ] && ok || not_ok "a failed predict left its output"
: >"$TMP/empty.csv"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/empty.csv"
expect_err "empty.csv' is empty: a header row is needed"
expect_exit 2 "$MLPIPE" predict "$V1" "$P/data/penguins.csv" --delimiter ';;'
expect_err "--delimiter: ';;' is not one character (or 'tab')"
expect_exit 2 "$MLPIPE" predict "$V1" "$P/data/penguins.csv" --drop weight
expect_err "--drop: '$P/data/penguins.csv' has no column 'weight'"
expect_exit 2 "$MLPIPE" predict "$V1" "$TMP/none.csv"
expect_err "cannot read '$TMP/none.csv'"
expect_exit 2 "$MLPIPE" export "$V1" --format tflite -o "$TMP/x"
expect_err "--format: 'tflite' is not a format (c, onnx)"
expect_exit 2 "$MLPIPE" export "$V1" --format c -o "$TMP/x.c"
expect_err "give a path without an extension"

# ---- damaged model files are refused by predict and export
cp "$V1/model.mlpm" "$TMP/flip.mlpm"
printf '\x55' | dd of="$TMP/flip.mlpm" bs=1 seek=200 conv=notrunc 2>/dev/null
head -c 300 "$V1/model.mlpm" >"$TMP/cut.mlpm"
for m in flip cut; do
	expect_exit 2 "$MLPIPE" predict "$TMP/$m.mlpm" "$P/data/penguins.csv" -o "$TMP/$m.out"
	expect_err "'$TMP/$m.mlpm' is damaged (checksum mismatch)"
	[ ! -e "$TMP/$m.out" ] && ok || not_ok "predict wrote output from a damaged model"
	expect_exit 2 "$MLPIPE" export "$TMP/$m.mlpm" --format onnx -o "$TMP/$m.onnx"
	expect_err "is damaged (checksum mismatch)"
	[ ! -e "$TMP/$m.onnx" ] && ok || not_ok "export wrote a damaged model"
done
printf 'MLPX' >"$TMP/magic.mlpm"
expect_exit 2 "$MLPIPE" export "$TMP/magic.mlpm" --format c -o "$TMP/magic"
expect_err "is not an mlpipe model file"
finish
