# `mlpipe meta` on a fixture store: tables, JSON, and every bad input.
. "$(dirname "$0")/lib.sh"

DB=$TMP/metadata.db
"$HELPERS/mkfixture" "$DB" /srv/mlpipe/runs || { echo "FAIL: mkfixture"; exit 1; }
meta() { "$MLPIPE" meta --db "$DB" "$@"; }

# ---- tables
expect_golden meta_runs.txt meta runs
expect_golden meta_runs_demo.txt meta runs --pipeline demo --limit 2
expect_golden meta_run_2.txt meta run 2
expect_golden meta_run_3.txt meta run demo#2
expect_golden meta_run_last.txt meta run last
expect_golden meta_artifacts.txt meta artifacts
expect_golden meta_artifacts_model.txt meta artifacts --type Model --run 3
expect_golden meta_lineage_2.txt meta lineage 2
expect_golden meta_metrics_accuracy.txt meta metrics --name accuracy --pipeline demo
expect_golden meta_metrics_steps.txt meta metrics --component train --all-steps
expect_golden meta_diff_2_3.txt meta diff 2 3
expect_golden meta_diff_3_4_all.txt meta diff demo#2 demo#3 --all
MLPIPE_DB=$DB expect_golden meta_runs.txt "$MLPIPE" meta runs

# ---- JSON: valid, plain keys, the values the tables show
expect_exit 0 meta --json runs
expect_jq 'length == 4 and .[0].id == 6 and .[0].state == "RUNNING" and .[0].duration_s == null'
expect_jq '.[2] | .name == "demo#2" and .executed == 2 and .cached == 1 and .failed == 1 and .params.seed == 7'
expect_exit 0 meta run 3 --json
expect_jq '.executions | length == 4'
expect_jq '.executions[0] | .state == "CACHED" and .cache == "hit" and .cached_from == 1 and .outputs[0].id == 1'
expect_jq '.executions[1].params == {"epochs": 4, "lr": 0.01, "optimizer": "sgd"}'
expect_jq '.executions[1].metrics | map(select(.name == "accuracy")) | length == 4'
expect_jq '.executions[3] | .state == "FAILED" and .exit_reason == "killed by signal 9 (SIGKILL)"'
expect_exit 0 meta --json artifacts --type PushedModel
expect_jq 'length == 1 and .[0].producer.component == "push" and .[0].uri == "/srv/mlpipe/runs/push/pushed_model/4"'
expect_exit 0 meta --json lineage 5 --up
expect_jq '.artifact.type == "PushedModel" and .upstream[0].component == "push" and ([.upstream[] | select(.parent == 0)] | length == 2)'
expect_jq '.upstream[1].depth == 2 and .upstream[1].parent == 0 and .upstream[2].parent == 1 and .truncated == false'
expect_jq 'has("downstream") | not'
expect_exit 0 meta --json metrics --name loss
expect_jq 'map(.run) == [2, 3, 4] and map(.value) == [0.6, 0.41, 0.41]'
# ---- pages: the newest N, saying when there is more (a store of years of runs)
expect_exit 0 meta --json metrics --name loss --limit 2
expect_jq 'map(.run) == [3, 4]'
expect_exit 0 meta metrics --name loss --limit 2
expect_out "(the newest 2 values: --limit N shows more, --limit 0 shows all)"
expect_exit 0 meta metrics --name loss --limit 0
grep -q "the newest" "$TMP/out" && not_ok "--limit 0 still says it cut the list" || ok
expect_exit 0 meta --json artifacts --limit 3
expect_jq 'map(.id) == [7, 8, 9]'
expect_exit 0 meta artifacts --limit 3
expect_out "(the newest 3 artifacts: --limit N shows more"
expect_exit 0 meta --json runs --limit 0
expect_jq 'length == 4'
expect_exit 0 meta lineage 2 --limit 3
expect_out "(stopped after 3 nodes each way: --limit N shows more, --limit 0 shows all)"
expect_exit 0 meta --json lineage 2 --limit 3
expect_jq '(.upstream | length) == 3 and (.downstream | length) == 3 and .truncated'
expect_exit 0 meta --json diff 2 3
expect_jq '.a == 2 and .b == 3 and (.changes | map(.name) | index("train.epochs") != null)'
expect_jq '.changes[] | select(.name == "train.optimizer") | .a == "adam" and .b == "sgd"'

# ---- help and usage
expect_exit 0 "$MLPIPE" --version
expect_out "mlpipe 0."
expect_exit 0 "$MLPIPE" --help
expect_out "meta"
expect_exit 0 "$MLPIPE" help meta
expect_out "usage: mlpipe meta"
expect_exit 0 "$MLPIPE" meta --help
expect_out "lineage ARTIFACT_ID"
expect_exit 2 "$MLPIPE"
expect_exit 2 "$MLPIPE" mta runs
expect_err "'mta' is not an mlpipe command (did you mean 'meta'?)"
expect_exit 2 "$MLPIPE" meta --db "$DB" rnus
expect_err "'rnus' is not a meta command (did you mean 'runs'?)"
expect_exit 2 "$MLPIPE" meta --db "$DB" runs --bogus
expect_err "unknown option '--bogus' for 'meta'"
expect_exit 2 "$MLPIPE" meta --db "$DB" runs --limit
expect_err "option '--limit' of 'meta' needs a value"
expect_exit 2 "$MLPIPE" meta --db "$DB" runs --limit -1
expect_err "--limit: -1 is out of range"
expect_exit 2 "$MLPIPE" meta --db "$DB" runs extra
expect_err "unexpected argument 'extra' for 'meta runs'"
expect_exit 2 env -u MLPIPE_DB "$MLPIPE" meta runs
expect_err "needs a metadata store: --db PATH"

# ---- bad ids
expect_exit 2 meta run 99
expect_err "no run 99 in '$DB'"
expect_exit 2 meta run x7
expect_err "run id: 'x7' is not an integer"
expect_exit 2 meta run nope#3
expect_err "no run named 'nope#3'"
expect_exit 2 meta lineage 999
expect_err "no artifact 999 in '$DB'"
expect_exit 2 meta lineage
expect_err "'meta lineage' needs one artifact id"
expect_exit 2 meta diff 2
expect_err "'meta diff' needs two run ids"
expect_exit 2 meta diff 2 77
expect_err "no run 77"
expect_exit 2 meta artifacts --run 0
expect_err "--run: run id: 0 is out of range"
# --run takes what `meta run` takes, and only a run: context 1 is the pipeline demo
expect_exit 2 meta artifacts --run 1
expect_err "no run 1 in"
expect_exit 0 meta --json artifacts --run last
expect_jq 'map(.id) == [9]'
expect_exit 0 meta --json artifacts --run demo#2
expect_jq 'map(.id) == [1, 6, 7, 8]'
expect_exit 2 meta artifacts --run demo#9
expect_exit 2 meta gc
expect_err "'meta gc' needs a scope: --older-than DAYS"
expect_exit 2 meta gc --older-than -3
expect_err "--older-than: -3 is out of range"

# ---- bad stores: a clear error, exit 2, and the file is not changed
expect_exit 2 "$MLPIPE" meta --db "$TMP/missing.db" runs
expect_err "cannot open metadata store '$TMP/missing.db'"
[ ! -e "$TMP/missing.db" ] && ok || not_ok "a missing store was created"
printf 'id,value\n1,2\n' >"$TMP/notes.csv"
cp "$TMP/notes.csv" "$TMP/notes.orig"
expect_exit 2 "$MLPIPE" meta --db "$TMP/notes.csv" runs
expect_err "'$TMP/notes.csv' is not an SQLite database (bad header at offset 0)"
cmp -s "$TMP/notes.csv" "$TMP/notes.orig" && ok || not_ok "a text file was changed"
sqlite3 "$TMP/other.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);"
cp "$TMP/other.db" "$TMP/other.orig"
expect_exit 2 "$MLPIPE" meta --db "$TMP/other.db" runs
expect_err "is an SQLite database but not an mlpipe metadata store"
cmp -s "$TMP/other.db" "$TMP/other.orig" && ok || not_ok "a foreign database was changed"
expect_exit 2 "$MLPIPE" meta --db "$TMP" runs
expect_err "it is a directory"
cp "$DB" "$TMP/newer.db"
sqlite3 "$TMP/newer.db" "PRAGMA user_version = 7;"
cp "$TMP/newer.db" "$TMP/newer.orig"
expect_exit 2 "$MLPIPE" meta --db "$TMP/newer.db" runs
expect_err "has schema version 7, newer than this mlpipe supports"
cmp -s "$TMP/newer.db" "$TMP/newer.orig" && ok || not_ok "a newer store was changed"
# a damaged store: pages overwritten after a checkpoint
cp "$DB" "$TMP/bad.db"
sqlite3 "$TMP/bad.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
size=$(stat -c %s "$TMP/bad.db")
dd if=/dev/urandom of="$TMP/bad.db" bs=4096 seek=1 count=$((size / 4096 - 1)) conv=notrunc status=none
cp "$TMP/bad.db" "$TMP/bad.orig"
expect_exit 2 "$MLPIPE" meta --db "$TMP/bad.db" runs
expect_err "is damaged"
cmp -s "$TMP/bad.db" "$TMP/bad.orig" && ok || not_ok "a damaged store was changed"

finish
