# `mlpipe meta gc`: only old, never-pushed artifacts below the pipeline root
# are deleted; --dry-run deletes nothing.
. "$(dirname "$0")/lib.sh"

DB=$TMP/metadata.db
ROOT=$TMP/runs
"$HELPERS/mkfixture" --files "$DB" "$ROOT" || { echo "FAIL: mkfixture"; exit 1; }
meta() { "$MLPIPE" meta --db "$DB" "$@"; }
live() { sqlite3 "$DB" "SELECT group_concat(id, ' ') FROM (SELECT id FROM artifact WHERE state = 'LIVE' ORDER BY id)"; }

# an artifact recorded outside its pipeline's root is never touched
mkdir -p "$TMP/elsewhere"
echo keep >"$TMP/elsewhere/data"
sqlite3 "$DB" "UPDATE artifact SET uri = '$TMP/elsewhere' WHERE id = 3"

# the fixture's artifacts date from 2026-11-01; none is 100000 days old
expect_exit 0 meta gc --older-than 100000
expect_out "gc: 0 artifacts deleted, 0 kept, 0 failed"
[ "$(live)" = "1 2 3 4 5 6 7 8 9" ] && ok || not_ok "gc with a far scope changed states: $(live)"

expect_exit 0 meta gc --older-than 1 --dry-run
expect_out "would delete"
expect_out "gc: 4 artifacts older than 1 days would be deleted (dry run)"
[ "$(live)" = "1 2 3 4 5 6 7 8 9" ] && ok || not_ok "a dry run changed states: $(live)"
[ -d "$ROOT/train/model/6" ] && ok || not_ok "a dry run removed files"

expect_exit 0 meta --json gc --older-than 1
expect_jq 'map(select(.action == "deleted")) | map(.id) == [1, 6, 7, 8]'
expect_jq 'map(select(.action | startswith("kept"))) | map(.id) == [3]'
# pushed (5), the pushed model's inputs (2, 4), the one outside the root (3)
# and the input of a running execution (9) stay
[ "$(live)" = "2 3 4 5 9" ] && ok || not_ok "wrong artifacts left live: $(live)"
[ ! -e "$ROOT/train/model/6" ] && [ ! -e "$ROOT/ingest/examples/1" ] && ok || not_ok "deleted artifacts' files remain"
[ -e "$ROOT/train/model/2/data" ] && [ -e "$ROOT/push/pushed_model/4/data" ] && ok || not_ok "kept artifacts' files were removed"
[ -e "$TMP/elsewhere/data" ] && ok || not_ok "a file outside the root was removed"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM artifact WHERE state = 'DELETED'")" = 4 ] && ok || not_ok "states not DELETED"
expect_exit 0 meta artifacts
expect_out "pushed_model"
if grep -q "ingest/examples/1$" "$TMP/out"; then not_ok "deleted artifacts are listed"; else ok; fi
expect_exit 0 meta artifacts --all
expect_out "DELETED"

# running again finds nothing more to do
expect_exit 0 meta gc --older-than 1
expect_out "gc: 0 artifacts deleted, 1 kept, 0 failed"


# a folder that links out of the root is kept, and what it points to too;
# a store with SQL planted in it is refused before gc reads a path
DB2=$TMP/m2.db
ROOT2=$TMP/runs2
"$HELPERS/mkfixture" --files "$DB2" "$ROOT2" || { echo "FAIL: mkfixture"; exit 1; }
mkdir -p "$TMP/outside"
echo keep >"$TMP/outside/data"
rm -rf "$ROOT2/train/model/6"
ln -s "$TMP/outside" "$ROOT2/train/model/6"
expect_exit 0 "$MLPIPE" meta --db "$DB2" --json gc --older-than 1
expect_jq 'map(select(.id == 6)) | .[0].action == "kept: outside the pipeline root"'
[ -e "$TMP/outside/data" ] && ok || not_ok "gc followed a link out of the root"
sqlite3 "$DB2" "CREATE TRIGGER evil AFTER UPDATE ON artifact BEGIN UPDATE artifact SET uri = '/' WHERE id = new.id; END"
expect_exit 2 "$MLPIPE" meta --db "$DB2" gc --older-than 1
expect_err "holds a trigger 'evil' that mlpipe did not create: refusing the store"

finish
