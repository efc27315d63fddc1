#!/usr/bin/env bash
# The Trainer data-parallel under MPI (mpirun on loopback, 2 ranks on this
# machine): the same training as one process within float tolerance, a
# byte-identical model with ranks: 1, a killed or hung rank fails the
# component within its timeout, resume from a checkpoint with the same
# ranks, and every mistake in ranks: or mpi: found at load time.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
W=$TMP/w
mkdir -p "$W/data" && cd "$W" || exit 1
cp "$REPO/pipelines/data/penguins.csv" data/
MPIRUN=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
command -v mpirun >/dev/null || { not_ok "mpirun is not installed (make deps installs openmpi-bin)"; finish; }
# Under ThreadSanitizer, Debian's OpenMPI (not instrumented) crashes in
# its event library's locks before the first step; the Trainer's own
# threads are the input pipeline's, which the other tests run under it.
if nm "$MLPIPE" 2>/dev/null | grep -q __tsan_init; then
	echo "mpi.sh: a ThreadSanitizer build: OpenMPI cannot run under it (the release and ASan runs test MPI)"
	exit 0
fi
# Under AddressSanitizer, OpenMPI's own threads keep what they allocate
# until exit: tests/lsan-openmpi.supp names its libraries (slow unwinding,
# so that the stacks reach them); nn/dist.c covers the calls mlpipe makes.
if nm "$MLPIPE" 2>/dev/null | grep -q __asan_init; then
	export LSAN_OPTIONS=suppressions=$REPO/tests/lsan-openmpi.supp:fast_unwind_on_malloc=0:print_suppressions=0
fi

# pipeline FILE RANKS [TRAINER PARAMS]: penguins to a trained model
pipeline() {
	local file=$1 ranks=$2 more=${3:-epochs: 20, batch_size: 32}
	cat >"$file" <<EOF
pipeline: { name: p, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/penguins.csv, label: species }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
  - id: train
    type: Trainer
    $ranks
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params: { model: { layers: [ {dense: 16, activation: relu}, {dense: auto} ] }, $more }
EOF
}
model_of() { ls -td runs/p/train/model/* | head -1; }
# the ranks' processes (not mpirun's, whose command line holds theirs)
ranks_running() { pgrep -f "^[^ ]*mlpipe component Trainer.*--staging"; }
metric() { "$MLPIPE" meta --db runs/metadata.db --json metrics --component train --name "$1" |
	jq -r '[.[] | select(.step == 0)] | last | .value'; }

# ---- one rank and two: the same training within float tolerance
pipeline one.yaml ""
expect_exit 0 "$MLPIPE" --quiet run one.yaml
ONE=$(model_of)/model.mlpm
acc1=$(metric val_accuracy)
pipeline two.yaml "ranks: 2"
expect_exit 0 "$MLPIPE" --quiet run two.yaml
TWO=$(model_of)/model.mlpm
acc2=$(metric val_accuracy)
[ "$ONE" != "$TWO" ] && ok || not_ok "ranks: 2 was a cache hit of the one-rank training"
[ "$(metric ranks)" = 2 ] && ok || not_ok "metric ranks is $(metric ranks), wanted 2"
awk -v a="$acc1" -v b="$acc2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0.8 && d <= 0.005) }' && ok ||
	not_ok "val_accuracy: one rank $acc1, two ranks $acc2"
d=$("$HELPERS/modeldiff" "$ONE" "$TWO")
awk -v d="$d" 'BEGIN { exit !(d < 1e-3) }' && ok || not_ok "20 epochs on two ranks moved the weights by $d"

# ---- one step, by hand under mpirun: the parameters equal the one-process
# step within float tolerance (the whole split in one batch)
ex=$(ls -td runs/p/transform/transformed_examples/* | head -1)
tx=$(ls -td runs/p/transform/transform/* | head -1)
step=(component Trainer --input examples="$ex" --input transform="$tx" --param epochs=1 --param batch_size=1000
	--param model='{layers: [{dense: 16, activation: relu}, {dense: auto}]}')
expect_exit 0 "$MLPIPE" "${step[@]}" --output model=step1
expect_exit 0 "${MPIRUN[@]}" "$MLPIPE" "${step[@]}" --output model=step2
expect_out "metric ranks step 0 = 2"
d=$("$HELPERS/modeldiff" step1/model.mlpm step2/model.mlpm)
awk -v d="$d" 'BEGIN { exit !(d < 1e-6) }' && ok || not_ok "one step on two ranks differs by $d"
[ -z "$(ls -d step2.tmp-* 2>/dev/null)" ] && ok || not_ok "a rank left its staging folder"

# ... and with the transform applied per batch, where the ranks decode the
# split once between them (each half of the blocks, then an allgather):
# pixel-like bytes, and the penguins' floats and strings
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,y"; for (i = 0; i < 600; i++) {
	y = i % 3; printf "%d,%d,%d,%d,%d,%d,%d\n", int(rand() * 200) + y * 20, int(rand() * 256), int(rand() * 256),
	int(rand() * 256), int(rand() * 256), int(rand() * 256), y } }' >data/pixels.csv
sed 's|path: data/penguins.csv, label: species|path: data/pixels.csv, label: y, block_rows: 64|; s/name: p,/name: px,/' \
	one.yaml >px.yaml
expect_exit 0 "$MLPIPE" --quiet run px.yaml
for set in "px ingest" "p ingest"; do
	set -- $set
	raw=$(ls -td runs/$1/$2/examples/* | head -1)
	tx=$(ls -td runs/$1/transform/transform/* | head -1)
	app=(component Trainer --input examples="$raw" --input transform="$tx" --param apply_transform=true
		--param epochs=1 --param batch_size=200 --param model='{layers: [{dense: 8, activation: relu}, {dense: auto}]}')
	rm -rf a1 a2
	expect_exit 0 "$MLPIPE" "${app[@]}" --output model=a1
	expect_exit 0 "${MPIRUN[@]}" "$MLPIPE" "${app[@]}" --output model=a2
	d=$("$HELPERS/modeldiff" a1/model.mlpm a2/model.mlpm)
	awk -v d="$d" 'BEGIN { exit !(d < 1e-6) }' && ok || not_ok "$1: a shared decode gave other steps ($d)"
done

# ---- ranks: 1, and mpirun -np 1: byte-identical to today's Trainer
pipeline r1.yaml "ranks: 1"
expect_exit 0 "$MLPIPE" --quiet run r1.yaml --no-cache
cmp -s "$ONE" "$(model_of)/model.mlpm" && ok || not_ok "ranks: 1 gave another model"
expect_exit 0 mpirun -np 1 $([ "$(id -u)" = 0 ] && echo --allow-run-as-root) "$MLPIPE" "${step[@]}" --output model=step3
cmp -s step1/model.mlpm step3/model.mlpm && ok || not_ok "mpirun -np 1 gave another model"

# ---- a rank killed: the component fails, with mpirun's account; then
# --resume continues from the checkpoint with the same ranks
pipeline long.yaml "ranks: 2" "epochs: 300, batch_size: 8, checkpoint_every: 1"
sed -i 's/{dense: 16, activation: relu}/{dense: 256, activation: relu}, {dense: 256, activation: relu}/' long.yaml
"$MLPIPE" run long.yaml --no-cache >long.out 2>&1 &
RUN=$!
for ((i = 0; i < 300; i++)); do
	[ -n "$(find runs -name checkpoint.mlpc 2>/dev/null)" ] && break
	sleep 0.05
done
ranks=$(ranks_running)
[ "$(echo "$ranks" | wc -w)" = 2 ] && ok || not_ok "wanted 2 ranks running, found: $ranks"
kill -KILL $(echo "$ranks" | tail -1)
for ((i = 0; i < 200; i++)); do kill -0 $RUN 2>/dev/null || break; sleep 0.1; done
if kill -0 $RUN 2>/dev/null; then not_ok "the run still runs 20 s after a rank was killed"; kill -KILL $RUN; fi
wait $RUN; rc=$?
[ "$rc" = 1 ] && ok || not_ok "the run exited $rc after a rank was killed, wanted 1"
grep -q "train .*failed after .*mpirun: process rank [01] .* exited on signal 9" long.out && ok ||
	{ not_ok "no reason naming the killed rank:"; cat long.out; }
[ -z "$(ranks_running)" ] && ok || not_ok "ranks are left running"
expect_exit 0 "$MLPIPE" run long.yaml --resume last
grep -q "continuing from the checkpoint after epoch [1-9]" runs/p/.logs/*train.log && ok ||
	not_ok "the resumed training did not continue from its checkpoint"
[ "$(metric epochs)" = 300 ] && [ "$(metric ranks)" = 2 ] && ok ||
	not_ok "the resumed training: epochs $(metric epochs), ranks $(metric ranks)"

# ---- a rank that hangs: the timeout stops the component and every rank
pipeline hang.yaml "ranks: 2
    timeout: 3" "epochs: 300, batch_size: 8"
sed -i 's/{dense: 16, activation: relu}/{dense: 256, activation: relu}, {dense: 256, activation: relu}/' hang.yaml
"$MLPIPE" run hang.yaml --no-cache >hang.out 2>&1 &
RUN=$!
for ((i = 0; i < 100; i++)); do
	[ "$(ranks_running | wc -l)" -ge 2 ] && break
	sleep 0.05
done
kill -STOP $(ranks_running | tail -1)
wait $RUN; rc=$?
[ "$rc" = 1 ] && grep -q "train .*failed after .*timed out after 3 s" hang.out && ok ||
	{ not_ok "a hung rank: exit $rc"; cat hang.out; }
sleep 0.5
[ -z "$(ranks_running)" ] && ok ||
	{ not_ok "ranks are left after the timeout"; pkill -KILL -f "^[^ ]*mlpipe component Trainer.*--staging"; }

# ---- a component's own error on the ranks is the failure's reason, not
# mpirun's (two outputs for three species: found only while training)
pipeline label.yaml "ranks: 2"
sed -i 's/{dense: auto}/{dense: 2}/' label.yaml
expect_exit 1 "$MLPIPE" run label.yaml
grep -q "train .*failed after .*: \(rank 1: \)\?label 2 is out of range for an output layer of 2 classes" "$TMP/out" && ok ||
	{ not_ok "the ranks' reason is lost:"; cat "$TMP/out"; }

# ---- mistakes, at load time with their place
pipeline bad.yaml "ranks: 0"
expect_exit 2 "$MLPIPE" run bad.yaml
expect_err "bad.yaml:14:12: ranks: 0 is out of range [1, 4096]"
sed 's/^    ranks: 0$//; s/    type: StatisticsGen/    type: StatisticsGen\n    ranks: 2/' bad.yaml >bad2.yaml
expect_exit 2 "$MLPIPE" run bad2.yaml
expect_err "bad2.yaml:8:12: StatisticsGen does not run as several ranks ('ranks' is for the Trainer)"
pipeline bad3.yaml "ranks: 2"
sed -i 's|^pipeline: { name: p,|pipeline: { mpi: { hostfile: nohosts, args: [--bind-to, none] }, name: p,|' bad3.yaml
expect_exit 2 "$MLPIPE" run bad3.yaml
expect_err "bad3.yaml:1:30: hostfile 'nohosts' does not exist"
echo "localhost slots=2" >hosts
sed -i 's/nohosts/hosts/' bad3.yaml
expect_exit 0 "$MLPIPE" --quiet run bad3.yaml --no-cache
PATH=/nonexistent expect_exit 2 "$MLPIPE" run two.yaml
expect_err "ranks: 2 needs mpirun, which is not on the PATH"
finish
