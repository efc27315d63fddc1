# A Pusher killed half way leaves nothing in serving/ that the store does
# not know: its temporary folder and a version it had renamed into place
# are taken back when it fails, and a resumed run pushes again.  Stale
# temporary folders of dead pushes are removed.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/penguins.yaml" "$P/"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
sed -i 's/epochs: 30/epochs: 5/' "$P/penguins.yaml"
meta() { "$MLPIPE" meta --db "$P/runs/metadata.db" "$@"; }
leftovers() { ls -A "$P/serving/penguins" 2>/dev/null | tr '\n' ' '; }

for moment in before-rename after-rename; do
	rm -rf "$P/serving" "$P/runs"
	mkdir -p "$P/serving/penguins/.push-999999999"   # a dead push's temporary folder
	expect_exit 1 env MLPIPE_TEST_KILL_PUSHER=$moment "$MLPIPE" run "$P/penguins.yaml"
	expect_out "push       failed after"
	[ -z "$(leftovers)" ] && ok || not_ok "$moment: serving/ holds $(leftovers)"
	expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --resume last
	expect_out "push       ran in"
	[ "$(leftovers)" = "1 " ] && ok || not_ok "$moment: after the resume serving/ holds $(leftovers)"
	expect_exit 0 meta --json artifacts --type PushedModel
	expect_jq 'length == 1 and .[0].properties.pushed == 1 and .[0].properties.version == 1'
done

# the orchestrator killed (SIGKILL) while the Pusher waits just after its
# rename: version 1 is published but never recorded; the resume takes it
# back before it pushes again
rm -rf "$P/serving" "$P/runs"
MLPIPE_TEST_KILL_PUSHER=after-rename-wait MLPIPE_TEST_PUSHER_READY=$TMP/ready "$MLPIPE" run "$P/penguins.yaml" >/dev/null 2>&1 &
pid=$!
for i in $(seq 400); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] && ok || not_ok "the Pusher never got past its rename"
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.3
[ "$(leftovers)" = "1 " ] && ok || not_ok "the unrecorded version is not there to take back: $(leftovers)"
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --resume last
grep -q "removed '$P/serving/penguins/1': it was published by an execution that did not complete" "$TMP/err" &&
	ok || not_ok "the resume did not take the unrecorded version back: $(cat "$TMP/err")"
[ "$(leftovers)" = "1 " ] && ok || not_ok "serving/ holds $(leftovers)"
expect_exit 0 meta --json artifacts --type PushedModel
expect_jq 'length == 1 and .[0].properties.version == 1'
expect_exit 0 meta --json run last
expect_jq '[.executions[] | select(.component == "push") | .state] == ["FAILED", "COMPLETE"]'
finish
