# Every mistake in a pipeline file is found before anything runs, once, with
# its file:line:col inside structured params, and a did-you-mean: by run,
# --dry-run, dag and (for a param's text) mlpipe component.
. "$(dirname "$0")/lib.sh"

P=$TMP/proj
mkdir -p "$P/data"
printf 'x,y\n1,0\n2,1\n' >"$P/data/d.csv"
cat >"$P/bad.yaml" <<'YAML'
pipeline: { name: bad, root: runs, metadata: runs/m.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/d.csv, label: y }
  - id: statistics
    type: StatisticsGen
    inptus: { examples: ingest.examples }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples }
    params:
      optimizer: { name: adam, lrr: 0.5 }
      model: { layers: [ {dense: 8, activaton: relu}, {dense: auto} ] }
      early_stopping: { metric: val_loss, patience: 0 }
  - id: evaluate
    type: Evaluator
    inputs: { examples: ingest.examples, model: train.model }
    params: { thresholds: { acuracy: { min: 0.5 }, log_loss: { maximum: 1 } } }
  - id: more
    type: ExampleGen
    params: { format: csv, path: data/nothere.csv, on_bad_value: mising }
  - id: spans
    type: ExampleGen
    params: { format: csv, pattern: 'data/day-{SPAN}.csv' }
  - id: push
    type: Pusher
    inputs: { model: train.model, blessing: evaluate.blessing }
    params: { destination: serving, formats: [native, tflite] }
YAML
cat >"$TMP/want" <<WANT
mlpipe: error: $P/bad.yaml:8:5: unknown key 'inptus' in a component (did you mean 'inputs'?)
mlpipe: error: $P/bad.yaml:13:32: param optimizer: unknown key 'lrr' (did you mean 'lr'?)
mlpipe: error: $P/bad.yaml:14:37: param model.layers[1]: unknown key 'activaton' (did you mean 'activation'?)
mlpipe: error: $P/bad.yaml:15:53: param early_stopping.patience: 0 is out of range (1 to 1e+06)
mlpipe: error: $P/bad.yaml:19:29: param thresholds: unknown metric 'acuracy' (did you mean 'accuracy'?)
mlpipe: error: $P/bad.yaml:19:64: param thresholds.log_loss: unknown key 'maximum' (min, max, max_drop, max_rise)
mlpipe: error: $P/bad.yaml:22:34: param path: 'data/nothere.csv' does not exist (relative paths start at '$P')
mlpipe: error: $P/bad.yaml:22:66: param on_bad_value: 'mising' is not one of error, missing (did you mean 'missing'?)
mlpipe: error: $P/bad.yaml:25:37: param pattern: no file matches 'data/day-{SPAN}.csv'
mlpipe: error: $P/bad.yaml:29:55: param formats: 'tflite' is not one of native, c, onnx
mlpipe: error: 10 problems in the pipeline file; nothing was run
WANT
for cmd in "run" "run --dry-run" "dag"; do
	expect_exit 2 "$MLPIPE" $cmd "$P/bad.yaml"
	diff -u "$TMP/want" "$TMP/err" >"$TMP/diff" && ok || { not_ok "mlpipe $cmd: the problems differ:"; cat "$TMP/diff"; }
done
[ ! -e "$P/runs" ] && ok || not_ok "something ran or was recorded"

# what the shapes cannot say is asked of the component, at load time too
cat >"$P/logits.yaml" <<'YAML'
pipeline: { name: logits, root: runs, metadata: runs/m.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/d.csv, label: y }
  - id: train
    type: Trainer
    inputs: { examples: ingest.examples }
    params:
      model: { layers: [ {dense: 8, activation: relu}, {dense: auto, activation: relu} ] }
YAML
expect_exit 2 "$MLPIPE" run "$P/logits.yaml" --dry-run
expect_err "logits.yaml:10:14: param model: the last layer gives the logits and takes no activation"
# --set is checked the same way, and a wrong path in it too
expect_exit 2 "$MLPIPE" run "$P/logits.yaml" --set 'train.model={layers: [{dense: 8}]}' --set ingest.path=data/no.csv
expect_err "--set ingest.path=data/no.csv: param path: 'data/no.csv' does not exist"
expect_exit 2 "$MLPIPE" dag "$P/logits.yaml" --set 'train.optimizer={name: adamm}'
expect_err "--set train.optimizer={name: adamm}: param optimizer.name: unknown value 'adamm' (did you mean 'adam'?) (column 8 of the value)"
# a map of paths given a list (found by the fuzzer: it once read freed memory)
expect_exit 2 "$MLPIPE" dag "$P/logits.yaml" --set 'ingest.splits={train: [a]}'
grep -q "param splits: the value of 'train' must be a path" "$TMP/err" && ok || not_ok "no word of the list: $(cat "$TMP/err")"
# mlpipe component checks a param's text alike
expect_exit 2 "$MLPIPE" component Trainer --input examples="$P" --output model="$TMP/m" --param 'optimizer={name: adam, lrr: 0.5}'
expect_err "optimizer: unknown key 'lrr' (did you mean 'lr'?) (column 14 of the value)"
[ ! -e "$TMP/m" ] && ok || not_ok "a refused component left its output"
finish
