#!/usr/bin/env bash
# Components as Slurm jobs, on a one-node cluster this test starts itself
# (tests/slurm/cluster.sh: munged, slurmctld and slurmd on private ports):
# the penguins pipeline gives the local run's model byte for byte; a failed
# job is recorded FAILED with its stderr tail; a timeout scancels the job;
# SIGKILL of the orchestrator, then --resume, reattaches to the running job
# without running it twice; a ranks: 2 Trainer runs under Slurm; mistakes
# and a refused job are one-line errors.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
source "$REPO/tests/slurm/cluster.sh"
if [ "$(id -u)" != 0 ]; then
	# slurmd runs jobs as their users: a test cluster needs root (CI has it)
	if [ -n "${CI:-}" ]; then not_ok "the Slurm tests need root"; finish; fi
	echo "slurm.sh: not root: the one-node Slurm cluster cannot start here (CI runs this test as root)"
	exit 0
fi
for c in sbatch squeue scontrol scancel slurmctld slurmd munged; do
	command -v $c >/dev/null || { not_ok "$c is not installed (make deps installs slurm-wlm and munge)"; finish; }
done
CL=$TMP/cluster
trap 'slurm_stop "$CL"; rm -rf "$TMP"' EXIT
slurm_start "$CL" && ok || { not_ok "the test cluster did not start:"; tail -5 "$CL"/*.log; finish; }

# project DIR: a folder with the penguins data and pipeline
project() {
	mkdir -p "$1/data" && cp "$REPO/pipelines/data/penguins.csv" "$1/data/" && cp "$REPO/pipelines/penguins.yaml" "$1/"
}
# sjobs: the jobs Slurm still has queued or running
sjobs() { squeue -h -o %i 2>/dev/null; }

# ---- the penguins pipeline on Slurm: the local run's model, byte for byte
project "$TMP/local"
expect_exit 0 "$MLPIPE" --quiet run "$TMP/local/penguins.yaml"
project "$TMP/s"
cd "$TMP/s" || exit 1
sed -i 's/^  name: penguins$/  name: penguins\n  executor: { kind: slurm, time: "00:10:00" }/' penguins.yaml
grep -q "kind: slurm" penguins.yaml && ok || not_ok "the test could not write its Slurm pipeline"
expect_exit 0 "$MLPIPE" run penguins.yaml
a=$(ls "$TMP"/local/runs/penguins/train/model/*/model.mlpm) b=$(ls runs/penguins/train/model/*/model.mlpm)
cmp -s "$a" "$b" && ok || not_ok "the Slurm run's model differs from the local run's"
"$MLPIPE" meta --db runs/metadata.db --json run last >meta.json
jq -e '[.executions[] | .state] | all(. == "COMPLETE")' meta.json >/dev/null && ok || not_ok "not every execution is COMPLETE"
sqlite3 runs/metadata.db "SELECT count(*) FROM execution_property WHERE name = 'mlpipe.job_id'" >jobs.txt
[ "$(cat jobs.txt)" = 8 ] && ok || not_ok "$(cat jobs.txt) job ids recorded, wanted 8"

# ---- a failing job: FAILED, with its stderr tail
cd "$TMP" && mkdir -p c && cd c || exit 1
cat >fail.yaml <<'EOF'
pipeline: { name: c, root: runs, metadata: runs/m.db, executor: { kind: slurm } }
components:
  - id: boom
    type: Command
    outputs: [out]
    params: { cmd: "echo the disk is on fire >&2; exit 3" }
EOF
expect_exit 1 "$MLPIPE" run fail.yaml
grep -q "boom .*failed after .*command exited with status 3" "$TMP/out" && ok || { not_ok "no reason:"; cat "$TMP/out"; }
grep -q "the disk is on fire" "$TMP/out" && ok || not_ok "no stderr tail in the failure"
"$MLPIPE" meta --db runs/m.db --json run last | jq -e '.executions[0].state == "FAILED"' >/dev/null && ok ||
	not_ok "the failed job is not recorded FAILED"

# ---- a timeout: the job is scancelled
cat >slow.yaml <<'EOF'
pipeline: { name: c, root: runs, metadata: runs/m.db, executor: { kind: slurm } }
components:
  - id: slow
    type: Command
    timeout: 2
    outputs: [out]
    params: { cmd: "sleep 120" }
EOF
expect_exit 1 "$MLPIPE" run slow.yaml
grep -q "slow .*timed out after 2 s" "$TMP/out" && ok || { not_ok "no timeout:"; cat "$TMP/out"; }
for ((i = 0; i < 50; i++)); do [ -z "$(sjobs)" ] && break; sleep 0.2; done
[ -z "$(sjobs)" ] && ok || not_ok "the timed-out job still runs: $(sjobs)"

# ---- SIGKILL of the orchestrator, then --resume: the running job is
# followed again, and runs once
cat >long.yaml <<EOF
pipeline: { name: c, root: runs, metadata: runs/m.db, executor: { kind: slurm } }
components:
  - id: long
    type: Command
    outputs: [out]
    params: { cmd: "echo ran >> $TMP/c/count; sleep 4; echo done > \"\$MLPIPE_OUTPUT_OUT/f\"" }
EOF
"$MLPIPE" run long.yaml >long.out 2>&1 &
RUN=$!
for ((i = 0; i < 100; i++)); do [ -s count ] && break; sleep 0.1; done
kill -KILL $RUN; wait $RUN 2>/dev/null
[ -n "$(sjobs)" ] && ok || not_ok "the job did not outlive its orchestrator"
expect_exit 0 "$MLPIPE" run long.yaml --resume last
grep -q "long .*reattached to slurm job [0-9]" "$TMP/out" && ok || { not_ok "not reattached:"; cat "$TMP/out"; }
[ "$(wc -l <count)" = 1 ] && ok || not_ok "the job ran $(wc -l <count) times"
[ "$(cat runs/c/long/out/*/f)" = done ] && ok || not_ok "the reattached job's output is not published"

# ... and a job that ended while no orchestrator watched is collected, not run again
rm -f count
"$MLPIPE" run long.yaml --no-cache >long.out 2>&1 &
RUN=$!
for ((i = 0; i < 100; i++)); do [ -s count ] && break; sleep 0.1; done
kill -KILL $RUN; wait $RUN 2>/dev/null
for ((i = 0; i < 100; i++)); do [ -z "$(sjobs)" ] && break; sleep 0.1; done
[ -z "$(sjobs)" ] && ok || not_ok "the job did not end"
expect_exit 0 "$MLPIPE" run long.yaml --resume last
grep -q "long .*reattached to slurm job [0-9]" "$TMP/out" && ok || { not_ok "the ended job was not collected:"; cat "$TMP/out"; }
[ "$(wc -l <count)" = 1 ] && ok || not_ok "the ended job ran $(wc -l <count) times"

# ---- a ranks: 2 Trainer as one job of 2 tasks, with MPI inside (not
# under ThreadSanitizer, where OpenMPI cannot run: see mpi.sh)
if nm "$MLPIPE" 2>/dev/null | grep -q __asan_init; then
	export LSAN_OPTIONS=suppressions=$REPO/tests/lsan-openmpi.supp:fast_unwind_on_malloc=0:print_suppressions=0
fi
if ! nm "$MLPIPE" 2>/dev/null | grep -q __tsan_init; then
	cd "$TMP/s" || exit 1
	sed -i 's/^    type: Trainer$/    type: Trainer\n    ranks: 2/' penguins.yaml
	expect_exit 0 "$MLPIPE" --quiet run penguins.yaml
	"$MLPIPE" meta --db runs/metadata.db --json metrics --component train --name ranks |
		jq -e '.[-1].value == 2' >/dev/null && ok || not_ok "the Trainer under Slurm did not run 2 ranks"
fi
# ---- mistakes: found at load time, or Slurm's answer in one line
cd "$TMP/c" || exit 1
sed 's/kind: slurm }/kind: slurmm }/' fail.yaml >bad.yaml
expect_exit 2 "$MLPIPE" run bad.yaml
expect_err "bad.yaml:1:73: executor kind 'slurmm' is not local or slurm"
sed 's/kind: slurm }/kind: slurm, time: 1h }/' fail.yaml >bad.yaml
expect_exit 2 "$MLPIPE" run bad.yaml
expect_err "time: '1h' is not what Slurm takes"
PATH=/nonexistent expect_exit 2 "$MLPIPE" run fail.yaml
expect_err "kind: slurm needs sbatch, which is not on the PATH"
sed 's/kind: slurm }/kind: slurm, partition: nosuch }/' fail.yaml >bad.yaml
expect_exit 1 "$MLPIPE" run bad.yaml
grep -q "boom .*failed: sbatch refused component 'boom': sbatch: error: .*nosuch" "$TMP/out" && ok ||
	{ not_ok "no sbatch answer:"; cat "$TMP/out"; }
# a component may stay local under a Slurm pipeline
sed 's/    type: Command/    type: Command\n    executor: { kind: local }/; s/exit 3/exit 0/; s|runs/m.db|runs/mixed.db|' \
	fail.yaml >mixed.yaml
expect_exit 0 "$MLPIPE" --quiet run mixed.yaml
[ "$(sqlite3 runs/mixed.db "SELECT count(*) FROM execution_property WHERE name = 'mlpipe.job_id'")" = 0 ] && ok ||
	not_ok "a kind: local component was submitted to Slurm"
finish
