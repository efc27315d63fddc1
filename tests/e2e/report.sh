# mlpipe report: a run report for a real small pipeline (penguins) with
# report: true, a history report, a failed run with hostile text in names
# and values; every page well-formed (xmllint) and rendered by headless
# Chromium to a PNG without console errors.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
sed 's/^  schedule: "@hourly"$/  schedule: "@hourly"\n  report: true/' "$REPO/pipelines/penguins.yaml" >"$P/penguins.yaml"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
DB=$P/runs/metadata.db
well_formed() { xmllint --noout "$1" 2>"$TMP/xmllint.err" && ok || { not_ok "$1 is not well-formed:"; head -3 "$TMP/xmllint.err"; }; }
has() { grep -qF -- "$2" "$1" && ok || not_ok "$(basename "$1") lacks: $2"; }

# ---- report: true writes the run's report and says where
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml"
expect_out "report:      $P/runs/penguins/reports/run-1.html"
R=$P/runs/penguins/reports/run-1.html
[ -s "$R" ] && ok || not_ok "no run report"
well_formed "$R"
has "$R" "<title>penguins#1: run report</title>"
has "$R" ">the pipeline</title>"           # the DAG
has "$R" ">ingest</text>"
has "$R" ">ran "
has "$R" "<h2>Training</h2>"                # per-epoch curves
has "$R" ">val_accuracy</text>"
has "$R" "confusion matrix"                 # the heat map, with the class names
has "$R" ">Adelie</text>"
has "$R" "<h3>Slices</h3>"
has "$R" "<td>island</td><td>Dream</td>"
has "$R" "blessed ✓"
has "$R" "held ✓"
has "$R" "<h2>Data: statistics</h2>"
has "$R" ">species: 3 distinct, missing 0</text>"
has "$R" "<h3>Anomalies: validate</h3>"
has "$R" "$P/serving/penguins/1"            # what was pushed where
# no clipped text: durations never wrap, column labels of the confusion
# matrix are slanted clear of each other, its picture is as wide as its
# title, and the histograms' last label ends inside the picture
has "$R" "white-space:nowrap"
has "$R" "rotate(-45)\" text-anchor=\"start\" font-family=\"sans-serif\" font-size=\"11\">Chinstrap</text>"
w=$(grep -o '<svg[^>]*width="[0-9]*"[^>]*><title>confusion matrix' "$R" | sed 's/.*width="\([0-9]*\)".*/\1/')
[ "${w:-0}" -ge 384 ] && ok || not_ok "the confusion matrix ($w px) is narrower than its title"
grep -q 'text-anchor="end" font-family="sans-serif" font-size="10"' "$R" && ok || not_ok "no histogram label ends at the plot's edge"
grep -q "<script" "$R" && not_ok "the report has a script" || ok
grep -Eq "(src|href)=\"https?:" "$R" && not_ok "the report fetches something" || ok

# the same report on demand, by run name, to stdout
expect_exit 0 "$MLPIPE" report --db "$DB" "penguins#1" -o -
has "$TMP/out" "<title>penguins#1: run report</title>"

# ---- a second run: cached components show as cached; the history
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml" --set train.epochs=25
R2=$P/runs/penguins/reports/run-2.html
well_formed "$R2"
has "$R2" ">cached "
expect_exit 0 "$MLPIPE" report --db "$DB" --pipeline penguins --history -o "$TMP/history.html"
expect_err "wrote $TMP/history.html"
well_formed "$TMP/history.html"
has "$TMP/history.html" "<title>penguins: history of 2 runs</title>"
has "$TMP/history.html" ">accuracy</title>"
has "$TMP/history.html" ">cache hits</title>"
has "$TMP/history.html" "<td>penguins#2</td>"

# ---- a failed run, and text that must not break the page
cat >"$P/odd.yaml" <<'EOF'
pipeline:
  name: odd
  report: true
  params: { note: "<b>bold & \"quoted\" 'too'</b>" }
components:
  - id: measure
    type: Command
    params:
      note: '${pipeline.note}'
      cmd: |
        printf '%s 0.5\n' "a<b&\"c'" >>"$MLPIPE_METRICS"
  - id: break
    type: Command
    after: [measure]
    params: { cmd: 'echo "<oops> & more" >&2; exit 3' }
  - id: later
    type: Command
    after: [break]
    params: { cmd: 'true' }
EOF
expect_exit 1 "$MLPIPE" run "$P/odd.yaml"
R3=$P/runs/odd/reports/run-1.html
well_formed "$R3"
has "$R3" "&lt;b&gt;bold &amp; &quot;quoted&quot; &#39;too&#39;&lt;/b&gt;"
has "$R3" ">failed "
has "$R3" ">canceled "
has "$R3" "&lt;oops&gt; &amp; more"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json run odd#1
expect_jq '.executions[0].metrics[0].name == "a<b&\"c'"'"'"'
has "$R3" "a&lt;b&amp;&quot;c&#39;=0.5"
grep -q "<b>bold" "$R3" && not_ok "raw markup from a param reached the page" || ok
expect_exit 0 "$MLPIPE" report --db "$DB" --pipeline odd --history -o "$TMP/odd_history.html"
well_formed "$TMP/odd_history.html"

# ---- artifacts deleted or damaged since (gc, a full disk): the report says so
expect_exit 0 "$MLPIPE" meta --db "$DB" --json run "penguins#1"
out_uri() { jq -r ".executions[] | select(.component == \"evaluate\") | .outputs[] | select(.name == \"$1\") | .uri" "$TMP/out"; }
ev_dir=$(out_uri evaluation)
bl_dir=$(out_uri blessing)
rm -rf "$ev_dir"
printf 'mlpipe-blessing 1\nthreshold\taccuracy\tmin\tbroken\tvalue\t??\theld\nblessed\tyes\n' >"$bl_dir/blessing.tsv"
expect_exit 0 "$MLPIPE" report --db "$DB" "penguins#1" -o "$TMP/gone.html"
well_formed "$TMP/gone.html"
has "$TMP/gone.html" "the evaluation artifact is not there any more"
has "$TMP/gone.html" "<h2>Data: statistics</h2>"
has "$TMP/gone.html" "<td>accuracy</td><td>min</td><td class=\"n\">-</td><td class=\"n\">-</td>"

# ---- bad requests: one line, exit 2
expect_exit 2 "$MLPIPE" report --db "$TMP/none.db"
expect_err "cannot read '$TMP/none.db': no such store"
expect_exit 2 "$MLPIPE" report --db "$DB" --history
expect_err "report --history takes --pipeline NAME and no run"
expect_exit 2 "$MLPIPE" report --db "$DB" "nope#9" -o "$TMP/x.html"
[ ! -e "$TMP/x.html" ] && ok || not_ok "a failed report wrote a file"
expect_exit 2 "$MLPIPE" report --db "$DB" --pipeline nope --history -o "$TMP/x.html"
expect_err "the store has no runs of pipeline 'nope'"

# ---- a browser renders them: headless Chromium, a screenshot, no console errors
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	if [ "${CI:-}" = true ]; then not_ok "chromium is not installed: make deps installs it"; else
		echo "note: chromium is not installed (make deps installs it): the browser checks are skipped"; fi
else
	for page in "$R" "$TMP/history.html" "$R3"; do
		name=$(basename "$page" .html)
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/profile-$name" \
			--enable-logging=stderr --v=0 --window-size=1200,2400 --screenshot="$TMP/$name.png" \
			"file://$page" >"$TMP/chromium.out" 2>"$TMP/chromium.err"
		[ -s "$TMP/$name.png" ] && [ "$(head -c 4 "$TMP/$name.png" | tail -c 3)" = PNG ] && ok ||
			{ not_ok "no screenshot of $name"; tail -3 "$TMP/chromium.err"; }
		[ "$(stat -c %s "$TMP/$name.png" 2>/dev/null || echo 0)" -gt 20000 ] && ok || not_ok "the screenshot of $name is blank"
		grep -i "CONSOLE" "$TMP/chromium.err" | grep -Eiq "error|uncaught|refused" &&
			{ not_ok "console errors on $name:"; grep -i CONSOLE "$TMP/chromium.err" | head -3; } || ok
		# the browser parsed the SVG: it is in the DOM
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/profile-$name" \
			--dump-dom "file://$page" >"$TMP/dom.html" 2>/dev/null
		grep -q "<svg" "$TMP/dom.html" && ok || not_ok "no SVG in the DOM of $name"
	done
fi
finish
