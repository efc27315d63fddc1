#!/usr/bin/env bash
# The rules the source tree keeps (README "Layout"): each folder includes
# only the folders below it, no circles between files (from the objects'
# symbols), no source file over 900 lines and no function over 120.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=$(cd "$HELPERS/.." && pwd)
cd "$ROOT" || exit 1

# what each folder may include, besides itself
declare -A below=(
	[core]=""
	[metadata]="core"
	[data]="core"
	[nn]="core data"
	[trees]="core data nn"
	[eval]="core"
	[export]="core data nn trees eval"
	[components]="core data nn trees eval export"
	[orchestrator]="core metadata data nn trees eval export components"
	[report]="core metadata data nn trees eval export"
	[serve]="core data nn trees eval export"
	[cli]="core metadata data nn trees eval export serve components orchestrator report"
)
for dir in "${!below[@]}"; do
	bad=$(grep -Hn '^#include "[a-z_]*/' "$dir"/*.[ch] 2>/dev/null | while IFS= read -r line; do
		inc=${line#*#include \"}; inc=${inc%%/*}
		case " $dir ${below[$dir]} " in *" $inc "*) ;; *) echo "$line" ;; esac
	done)
	if [ -z "$bad" ]; then ok; else not_ok "$dir/ includes what is above it:"; echo "$bad" | head -5 | sed 's/^/  /'; fi
done

sources=$(find core metadata data nn trees eval export serve components orchestrator report cli tests bench fuzz \
	-name '*.[ch]' | sort)
long=$(wc -l $sources | awk '$2 != "total" && $1 > 900 { print "  " $2 ": " $1 " lines" }')
if [ -z "$long" ]; then ok; else not_ok "files over 900 lines:"; echo "$long"; fi

# a function body is { ... } at column 0; tables are initialisers, not bodies
long=$(awk '
FNR == 1 { inb = 0; sig = "" }
/^\{/ && !inb { inb = 1; start = FNR; name = sig; next }
/^\}/ && inb { inb = 0; if (FNR - start + 1 > 120) print "  " FILENAME ":" start ": " name " " FNR - start + 1 " lines"; next }
!inb && /^[A-Za-z_].*\(/ { s = $0; sub(/\(.*/, "", s); k = split(s, w, /[ *]+/); sig = w[k] }
' $sources)
if [ -z "$long" ]; then ok; else not_ok "functions over 120 lines:"; echo "$long"; fi

# circles: file A uses a symbol B defines and B one that A defines, or a
# longer loop (the closure of "uses" over every library object)
objs=$(cd "$BUILD" && find core metadata data nn trees eval export serve components orchestrator report cli -name '*.o' 2>/dev/null | sort)
if [ -z "$objs" ]; then not_ok "no objects under $BUILD"; else
	circles=$(cd "$BUILD" && for o in $objs; do
		nm "$o" | awk -v f="${o%.o}.c" '$2 ~ /^[TDBRC]$/ { print "D", f, $3 } $1 == "U" { print "U", f, $2 }'
	done | awk '
	$1 == "D" { def[$3] = $2 } $1 == "U" { use[++n] = $2 SUBSEP $3 }
	END {
		for (i = 1; i <= n; i++) {
			split(use[i], p, SUBSEP)
			if ((p[2] in def) && def[p[2]] != p[1]) { e[p[1], def[p[2]]] = 1; node[p[1]]; node[def[p[2]]] }
		}
		for (k in node) for (i in node) if ((i, k) in e) for (j in node) if ((k, j) in e) e[i, j] = 1
		for (i in node) for (j in node) if (i < j && ((i, j) in e) && ((j, i) in e)) print "  " i " <-> " j
	}' | sort)
	if [ -z "$circles" ]; then ok; else not_ok "circles between files:"; echo "$circles" | head -20; fi
fi
finish
