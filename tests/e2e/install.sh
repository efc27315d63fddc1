#!/usr/bin/env bash
# make install and make uninstall: the binary, its man page (made from its
# own help), the example pipelines and the docs under DESTDIR/PREFIX; an
# installed mlpipe runs an installed pipeline; uninstall leaves no file.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$E2E_DIR/../.." && pwd)
DEST=$TMP/dest
PREFIX=/opt/mlpipe-test

expect_exit 0 make -C "$ROOT" --no-print-directory install DESTDIR="$DEST" PREFIX="$PREFIX"
for f in bin/mlpipe share/man/man1/mlpipe.1 share/mlpipe/pipelines/penguins.yaml \
	share/mlpipe/pipelines/fashion_mnist.yaml share/mlpipe/pipelines/data/penguins.csv \
	share/doc/mlpipe/README.md share/doc/mlpipe/pipeline.md; do
	[ -f "$DEST$PREFIX/$f" ] && ok || not_ok "make install did not write $f"
done
[ -x "$DEST$PREFIX/bin/mlpipe" ] && ok || not_ok "the installed binary is not executable"
expect_exit 0 "$DEST$PREFIX/bin/mlpipe" --version
expect_out "mlpipe "

# the man page says what the binary's help says, for every command
page=$DEST$PREFIX/share/man/man1/mlpipe.1
head -1 "$page" | grep -q '^\.TH MLPIPE 1' && ok || not_ok "mlpipe.1 has no .TH line"
for cmd in run schedule dag component report predict export meta; do
	grep -q "^\.SS $cmd\$" "$page" && ok || not_ok "mlpipe.1 lacks the command $cmd"
done
grep -qF -- "--resume RUN" "$page" && ok || not_ok "mlpipe.1 lacks run's options"
if command -v man >/dev/null; then
	expect_exit 0 man -l "$page"
	expect_out "EXIT STATUS"
fi

# a new user copies an installed pipeline and runs it with the installed binary
cp -r "$DEST$PREFIX/share/mlpipe/pipelines" "$TMP/mine"
expect_exit 0 "$DEST$PREFIX/bin/mlpipe" --quiet run "$TMP/mine/penguins.yaml"
expect_exit 0 "$DEST$PREFIX/bin/mlpipe" meta --db "$TMP/mine/runs/metadata.db" run last
expect_out "COMPLETE"

expect_exit 0 make -C "$ROOT" --no-print-directory uninstall DESTDIR="$DEST" PREFIX="$PREFIX"
left=$(find "$DEST" -type f)
[ -z "$left" ] && ok || { not_ok "make uninstall left files:"; echo "$left" | head -5; }
[ ! -e "$DEST$PREFIX/share/mlpipe" ] && ok || not_ok "make uninstall left share/mlpipe"
finish
