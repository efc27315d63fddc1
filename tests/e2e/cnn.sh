# Convolutional nets: 28x28 IDX images as Fashion-MNIST's (made by
# mkfixture), whose shape ExampleGen records and the Trainer reads, through
# conv, pool and flatten layers to a pushed model; predict on IDX and on
# CSV, the C export and the ONNX export (run in ONNX Runtime) agree; bad
# stacks are load-time errors with the file's line and column.
source "$(dirname "$0")/lib.sh"
P=$TMP/proj
mkdir -p "$P/data"

"$HELPERS/mkfixture" --images "$P/data" train 600 1 && "$HELPERS/mkfixture" --images "$P/data" t10k 150 2 && ok ||
	not_ok "mkfixture --images failed"

cat >"$P/cnn.yaml" <<'EOF'
pipeline: { name: cnn, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params:
      format: idx
      splits: { train: data/train-images-idx3-ubyte.gz, eval: data/t10k-images-idx3-ubyte.gz }
      validation_fraction: 0.1
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
    params: { numbers: "divide:255" }
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params:
      model:
        layers:
          - {conv: 4, kernel: 3, activation: relu}
          - {pool: 2}
          - {conv: 6, kernel: 3, stride: 2, padding: same, activation: tanh}
          - {pool: 2}
          - {flatten: true}
          - {dense: 16, activation: relu}
          - {dense: auto}
      optimizer: { name: adam, lr: 0.01 }
      epochs: 8
      batch_size: 32
      threads: 1
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { thresholds: { accuracy: { min: 0.9 } } }
  - id: push
    type: Pusher
    inputs: { model: train.model, blessing: evaluate.blessing }
    params: { destination: serving/cnn, formats: [native, c, onnx] }
EOF
expect_exit 0 "$MLPIPE" --quiet run "$P/cnn.yaml"
DB=$P/runs/metadata.db
grep -q "^shape	28	28	1$" "$P"/runs/cnn/ingest/examples/*/examples.meta && ok || not_ok "ExampleGen did not record the images' shape"
grep -q "^shape	28	28	1$" "$P"/runs/cnn/transform/transformed_examples/*/examples.meta && ok ||
	not_ok "Transform did not pass the shape on"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component evaluate
expect_jq 'map(select(.name == "accuracy"))[-1].value >= 0.9'
V=$P/serving/cnn/1
for f in model.mlpm model.c model.onnx; do [ -s "$V/$f" ] && ok || not_ok "the Pusher did not write $f"; done
# the model file says what it is
grep -aq "^shape 28 28 1$" "$V/model.mlpm" && grep -aq "^conv 6 3 2 same tanh 0$" "$V/model.mlpm" && grep -aq "^pool 2$" "$V/model.mlpm" &&
	ok || not_ok "the model's header lacks its image layers"

# predict on IDX and on the same pixels as CSV; the C and ONNX exports agree
expect_exit 0 "$MLPIPE" predict "$V" "$P/data/t10k-images-idx3-ubyte.gz" -o "$TMP/idx.csv"
expect_exit 0 "$MLPIPE" predict "$V" "$P/data/t10k.csv" -o "$TMP/pred.csv"
cmp -s "$TMP/idx.csv" "$TMP/pred.csv" && ok || not_ok "IDX and CSV predictions differ"
exports_agree cnn "$V" "$P/data/t10k.csv" "$TMP/pred.csv" 1e-5 1e-5

# ---- mistakes in the stack, found before anything runs
bad() { # bad NAME SED-EXPR: the pipeline changed by SED-EXPR, its one-line error in $TMP/err
	sed "$2" "$P/cnn.yaml" >"$P/$1.yaml"
	expect_exit 2 "$MLPIPE" run "$P/$1.yaml"
}
bad pool_first 's/- {conv: 4, kernel: 3, activation: relu}/- {pool: 2}\n          - {conv: 4, kernel: 3, activation: relu}/'
expect_err "pool_first.yaml:21:9: param model: layer 1: a pool before any conv"
bad no_flatten '/- {flatten: true}/d'
expect_err "no_flatten.yaml:21:9: param model: layer 5: a dense layer after a conv or pool: put {flatten: true} between them"
bad big_kernel 's/model:$/input_shape: [28, 28, 1]\n      model:/; s/{conv: 4, kernel: 3,/{conv: 4, kernel: 29,/'
expect_err "big_kernel.yaml:22:9: param model: layer 1: a conv window of 29 is larger than its 28x28 input"
bad kernel_on_dense 's/{dense: 16, activation: relu}/{dense: 16, kernel: 3}/'
expect_err "param model: layer 6: 'kernel' is for conv layers"
bad two_kinds '0,/- {pool: 2}/s//- {pool: 2, conv: 3}/'
expect_err "two_kinds.yaml:23:23: param model.layers[2]: 'pool' and 'conv' exclude each other: give one of 'dense', 'conv', 'pool' or 'flatten'"
bad bad_padding 's/padding: same/padding: full/'
expect_err "bad_padding.yaml:24:54: param model.layers[3].padding: 'full' is not one of same, valid"
# a conv on examples without a shape: the Trainer says what to give
cat >"$P/noshape.yaml" <<'EOF'
pipeline: { name: noshape, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/train.csv, label: pixel0, eval_fraction: 0.2 }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples }
    params:
      model: { layers: [ {conv: 4, kernel: 3}, {flatten: true}, {dense: 1} ] }
      loss: mse
EOF
expect_exit 1 "$MLPIPE" run "$P/noshape.yaml"
grep -q "layer 1: a conv needs images: give the input's shape (input_shape, or images from IDX)" "$TMP/err" "$TMP/out" &&
	ok || not_ok "no shape: $(tail -3 "$TMP/err")"
finish
