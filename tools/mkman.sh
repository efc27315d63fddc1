#!/bin/sh
# Writes mlpipe(1) in roff from the binary's own help, so the page never
# says other than `mlpipe help COMMAND`:  tools/mkman.sh ./mlpipe > mlpipe.1
set -eu
bin=$1
version=$("$bin" --version) || { echo "mkman: cannot run $bin" >&2; exit 1; }
version=${version#mlpipe }
# roff: a leading dot or quote would be a request; backslashes are escapes
quote() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }
cat <<EOF
.TH MLPIPE 1 "" "mlpipe $version" "User Commands"
.SH NAME
mlpipe \\- machine-learning pipelines with a metadata store
.SH SYNOPSIS
.nf
EOF
"$bin" --help | sed -n '1,2p' | quote
cat <<EOF
.fi
.SH DESCRIPTION
EOF
"$bin" --help | sed -n '4,5p' | quote
echo ".SH COMMANDS"
for cmd in $("$bin" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	echo ".SS $cmd"
	echo ".nf"
	"$bin" help "$cmd" | quote
	echo ".fi"
done
echo ".SH COMPONENTS"
echo ".nf"
"$bin" component --list | quote
echo ".fi"
cat <<EOF
.SH EXIT STATUS
0 success, 1 a component or run failed, 2 bad usage or bad input files.
.SH FILES
.TP
.I share/mlpipe/pipelines/
example pipelines: Fashion-MNIST, the Palmer penguins, label balance
.TP
.I share/doc/mlpipe/
the file formats, the metadata schema, the pipeline reference, the limits
EOF
