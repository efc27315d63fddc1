# A full disk never corrupts the store: on a small tmpfs the penguins run
# fails somewhere (creating the store, writing shards, committing), and
# once there is room again the store opens, checks clean, holds no
# half-made copy, and the next run completes.  A component that fails for
# lack of space says so, though its log is on the full disk too.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$E2E_DIR/../.." && pwd)
MNT=$TMP/small
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=100k tmpfs "$MNT" 2>/dev/null; then
	# a small filesystem needs root (CI is root; a user's make test may not be)
	echo "note: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): the disk-full checks are SKIPPED"
	finish
	exit $?
fi
umount "$MNT"
said_enospc=0
for size in 100k 150k 180k 250k 400k 700k; do
	mount -t tmpfs -o size=$size tmpfs "$MNT"
	mkdir -p "$MNT/data"
	cp "$REPO/pipelines/data/penguins.csv" "$MNT/data/"
	sed 's/epochs: 30/epochs: 3/' "$REPO/pipelines/penguins.yaml" >"$MNT/p.yaml"
	"$MLPIPE" run "$MNT/p.yaml" >"$TMP/full.out" 2>&1
	grep -q "No space left on device\|database or disk is full" "$TMP/full.out" && ok ||
		not_ok "$size: the failure does not say the disk is full: $(tail -3 "$TMP/full.out")"
	grep -q "failed after .*No space left on device" "$TMP/full.out" && said_enospc=1
	mount -o remount,size=20m "$MNT"
	if [ -e "$MNT/runs/metadata.db" ]; then
		expect_exit 0 "$MLPIPE" meta --db "$MNT/runs/metadata.db" runs
		[ "$(sqlite3 "$MNT/runs/metadata.db" "PRAGMA integrity_check")" = ok ] && ok || not_ok "$size: integrity check"
	fi
	[ -z "$(ls "$MNT/runs" 2>/dev/null | grep '\.new\.')" ] && ok || not_ok "$size: a half-made store is left: $(ls "$MNT/runs")"
	expect_exit 0 "$MLPIPE" run "$MNT/p.yaml"
	expect_out "COMPLETE"
	umount "$MNT"
done
[ $said_enospc = 1 ] && ok || not_ok "no component failure named 'No space left on device'"
finish
