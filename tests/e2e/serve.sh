#!/usr/bin/env bash
# mlpipe serve with curl against a real server: TF Serving's status,
# metadata and :predict (instances as objects and lists, inputs as columns),
# :classify and :regress; the same predictions as mlpipe predict within
# 1e-6; every error code with its message; a new version swapped in under
# load without one failed request; a damaged version refused while the old
# one serves; limits; SIGTERM drains and exits 0.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/penguins.yaml" "$P/"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
expect_exit 0 "$MLPIPE" --quiet run "$P/penguins.yaml"
BASE=$P/serving/penguins
[ -f "$BASE/1/model.mlpm" ] && ok || not_ok "the pipeline pushed no version 1"

PID=
# start_server BASE NAME [OPTIONS]: starts mlpipe serve on a free port; sets PID and URL
start_server() {
	local base=$1 name=$2 i; shift 2
	"$MLPIPE" serve --model_name "$name" --model_base_path "$base" --rest_api_port 0 \
		--file_system_poll_wait_seconds 1 "$@" 2>"$TMP/serve.log" &
	PID=$!
	for ((i = 0; i < 300; i++)); do
		grep -q ' on http://' "$TMP/serve.log" && break
		sleep 0.1
	done
	URL=$(grep -o 'http://[0-9.:]*' "$TMP/serve.log" | head -1)
	[ -n "$URL" ] && ok || { not_ok "the server did not start:"; cat "$TMP/serve.log"; }
}
stop_server() {
	local rc
	kill -TERM "$PID" 2>/dev/null; wait "$PID"; rc=$?
	[ "$rc" -eq 0 ] && ok || { not_ok "serve exited $rc:"; grep -v '^mlpipe serve' "$TMP/serve.log" | head -30; }
}
trap 'kill -KILL $PID 2>/dev/null; rm -rf "$TMP"' EXIT

# http METHOD PATH [BODY-FILE]: the body in $TMP/out, the status in $CODE
http() {
	if [ -n "${3:-}" ]; then
		CODE=$(curl -s -o "$TMP/out" -w '%{http_code}' -X "$1" --data-binary @"$3" "$URL$2")
	else
		CODE=$(curl -s -o "$TMP/out" -w '%{http_code}' -X "$1" "$URL$2")
	fi
}
# post_rows_at_once BODY DIR MODEL N: N one-row requests, 16 at a time,
# each the next of BODY's instances in turn; answer i in DIR/out$i.json
post_rows_at_once() {
	local body=$1 dir=$2 model=$3 n=$4 rows i
	mkdir -p "$dir"
	rows=$(jq '.instances | length' "$body")
	for ((i = 0; i < rows; i++)); do
		jq -c "{instances: [.instances[$i]]}" "$body" >"$dir/in$i.json"
	done
	{ for ((i = 0; i < n; i++)); do
		echo "url = \"$URL/v1/models/$model:predict\""
		echo "data-binary = \"@$dir/in$((i % rows)).json\""
		echo "output = \"$dir/out$i.json\""
		echo 'write-out = "%{http_code}\n"'
		[ "$i" -lt $((n - 1)) ] && echo 'next'
	  done; } >"$dir/requests.cfg"
	curl -s --no-progress-meter --parallel --parallel-max 16 -K "$dir/requests.cfg" >"$dir/codes"
	[ "$(grep -c '^200$' "$dir/codes")" -eq "$n" ] && ok ||
		not_ok "$n requests at once: $(sort "$dir/codes" | uniq -c | tr '\n' ' ')"
}
expect_code() { [ "$CODE" = "$1" ] && ok || { not_ok "HTTP $CODE (wanted $1) for $2: $(head -c 300 "$TMP/out")"; }; }
expect_error() { jq -e --arg t "$1" '.error | contains($t)' "$TMP/out" >/dev/null && ok ||
	not_ok "the error lacks '$1': $(cat "$TMP/out")"; }

start_server "$BASE" penguins

# ---- status and metadata
http GET /v1/models/penguins; expect_code 200 status
expect_jq '.model_version_status == [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]'
http GET /v1/models/penguins/versions/1; expect_code 200 "status of version 1"
http GET /v1/models/penguins/metadata; expect_code 200 metadata
expect_jq '[.metadata.inputs[].name] == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]'
expect_jq '(.metadata.inputs[0].type == "string") and (.metadata.inputs[1].type == "float")'
expect_jq '.metadata.outputs.classes == ["Adelie", "Chinstrap", "Gentoo"] and .model_spec.version == "1"'
expect_jq '.metadata.transform[0] | .kind == "onehot" and (.outputs | length) == 3'
# and TF Serving's own shape: one signature, serving_default
expect_jq '.metadata.signature_def.signature_def.serving_default | .method_name == "tensorflow/serving/predict" and
	.inputs.island.dtype == "DT_STRING" and .inputs.body_mass_g.dtype == "DT_FLOAT" and (.inputs | length) == 6 and
	.outputs.probabilities.tensor_shape.dim == [{"size": "-1", "name": ""}, {"size": "3", "name": ""}] and
	.outputs.class.dtype == "DT_STRING" and .outputs.label.dtype == "DT_INT64"'

# ---- the same predictions as mlpipe predict: 40 rows of the real file
head -41 "$P/data/penguins.csv" | cut -d, -f2-7 >"$TMP/rows.csv"
expect_exit 0 "$MLPIPE" predict "$BASE/1" "$TMP/rows.csv" -o "$TMP/predict.csv"
# the rows as JSON objects, strings by name (NA is missing: null)
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
	{ printf "%s{", (NR > 2 ? "," : "")
	  for (i = 1; i <= NF; i++) {
		v = $i; if (v == "NA" || v == "") v = "null"; else if (v !~ /^[-0-9.]+$/) v = "\"" v "\""
		printf "%s\"%s\": %s", (i > 1 ? ", " : ""), h[i], v }
	  printf "}" }' "$TMP/rows.csv" | { printf '{"instances": ['; cat; printf ']}'; } >"$TMP/objects.json"
jq '{instances: [.instances[] | [.island, .bill_length_mm, .bill_depth_mm, .flipper_length_mm, .body_mass_g, .sex]]}' \
	"$TMP/objects.json" >"$TMP/lists.json"
jq '{inputs: (.instances | (.[0] | keys_unsorted) as $k | reduce $k[] as $f ({}; .[$f] = [$.instances[][$f]]))}' \
	"$TMP/objects.json" >"$TMP/columns.json" 2>/dev/null ||
	jq '.instances as $r | {inputs: (($r[0] | keys_unsorted) | map({key: ., value: [$r[][.]]}) | from_entries)}' \
		"$TMP/objects.json" >"$TMP/columns.json"
# compare JSON: the class and each probability against predict's CSV within 1e-6
compare() {
	jq -r '.predictions[] | [.class] + (.probabilities | map(tostring)) | join(",")' "$TMP/out" >"$TMP/served.csv"
	tail -n +2 "$TMP/predict.csv" | paste -d, - "$TMP/served.csv" | awk -F, -v what="$1" '
		{ n = NF / 2; if ($1 != $(n + 1)) bad++
		  for (i = 2; i <= n; i++) { d = $i - $(n + i); if (d < 0) d = -d; if (d > m) m = d } ; rows++ }
		END { if (rows != 40 || bad || m > 1e-6) { printf "%s: %d rows, %d classes differ, max difference %g\n", what, rows, bad, m; exit 1 } }' &&
		ok || not_ok "served predictions differ from mlpipe predict ($1)"
}
http POST /v1/models/penguins:predict "$TMP/objects.json"; expect_code 200 "instances as objects"; compare objects
http POST /v1/models/penguins:predict "$TMP/lists.json"; expect_code 200 "instances as lists"; compare lists
http POST /v1/models/penguins:predict "$TMP/columns.json"; expect_code 200 "inputs as columns"; compare columns
http POST /v1/models/penguins/versions/1:predict "$TMP/lists.json"; expect_code 200 "a specific version"; compare version
expect_jq '.predictions[0] | (.label | type) == "number" and (.class | type) == "string"'
echo '{"examples": [{"island": "Dream", "bill_length_mm": 49, "sex": null}]}' >"$TMP/ex.json"
http POST /v1/models/penguins:classify "$TMP/ex.json"; expect_code 200 classify
expect_jq '(.results[0] | length) == 3 and .results[0][0][0] == "Adelie" and ([.results[0][][1]] | add > 0.999)'

# ---- every error, one line saying what and where
printf '{"instances": [1,' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "bad JSON"; expect_error "bad JSON at byte"
echo '{"instances": [{"islnd": "Dream"}]}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "a wrong name"; expect_error "no feature 'islnd' (did you mean 'island'?)"
echo '{"inputs": {"island": ["Dream"], "islnd": ["x"]}}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "a wrong column name"; expect_error "row 0: the model has no feature 'islnd' (did you mean 'island'?)"
echo '{"instances": [{"island": 3}]}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "a wrong type"; expect_error "row 0, feature 'island': a string feature takes a string"
echo '{"instances": [{"bill_length_mm": "long"}]}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "a string for a number"; expect_error "a numeric feature takes a number"
echo '{"instances": [["Dream", 1]]}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "a short row"; expect_error "row 0 has 2 values; the model takes 6"
echo '{"rows": []}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "no instances"; expect_error "'instances' or 'inputs'"
echo '{"instances": [], "inputs": {}}' >"$TMP/b.json"
http POST /v1/models/penguins:predict "$TMP/b.json"; expect_code 400 "both"; expect_error "both 'instances' and 'inputs'"
http POST /v1/models/penguins:regress "$TMP/ex.json"; expect_code 400 "regress on a classifier"; expect_error "is a classifier"
http POST /v1/models/nope:predict "$TMP/lists.json"; expect_code 404 "an unknown model"; expect_error "no model 'nope'"
http GET /v1/models/nope; expect_code 404 "status of an unknown model"
http POST /v1/models/penguins/versions/7:predict "$TMP/lists.json"; expect_code 404 "an unknown version"; expect_error "no version 7"
http GET /v1/models/penguins/labels/stable; expect_code 404 "a label without a config"; expect_error "no label 'stable'"
http POST /v1/models/penguins:explain "$TMP/lists.json"; expect_code 404 "an unknown method"; expect_error ":predict"
http GET /v1/models/penguins:predict; expect_code 405 "a GET predict"
http GET /v2/anything; expect_code 404 "another route"

# ---- a new version under load: not one failed request, and it serves after
{ for ((i = 0; i < 2000; i++)); do
	echo "url = \"$URL/v1/models/penguins:predict\""
	echo "data-binary = \"@$TMP/lists.json\""
	echo 'output = "/dev/null"'
	echo 'write-out = "%{http_code} %{errormsg}\n"'
	[ "$i" -lt 1999 ] && echo 'next'
  done; } >"$TMP/load.cfg"
curl -s --no-progress-meter --parallel --parallel-max 8 -K "$TMP/load.cfg" >"$TMP/codes" &
LOAD=$!
sleep 0.3
cp -r "$BASE/1" "$BASE/.push-test" && mv "$BASE/.push-test" "$BASE/2"
wait $LOAD
[ "$(wc -l <"$TMP/codes")" -eq 2000 ] && ok || not_ok "the load loop answered $(wc -l <"$TMP/codes") of 2000"
bad=$(grep -cv "^200 $" "$TMP/codes"); [ "$bad" -eq 0 ] && ok || { not_ok "$bad requests failed during the reload:"; sort "$TMP/codes" | uniq -c | head -5; }
for ((i = 0; i < 50; i++)); do grep -q 'version 2 loaded' "$TMP/serve.log" && break; sleep 0.1; done
http GET /v1/models/penguins; expect_code 200 "status after the reload"
expect_jq '[.model_version_status[] | select(.state == "AVAILABLE") | .version] == ["2"]'
http POST /v1/models/penguins:predict "$TMP/lists.json"; expect_code 200 "after the reload"; compare reloaded
grep -q 'model penguins: version 2 loaded' "$TMP/serve.log" && ok || not_ok "no log line for the load"
grep -q 'version 1 unloaded' "$TMP/serve.log" && ok || not_ok "no log line for the unload"

# ---- a damaged version is refused, and version 2 keeps serving
mkdir "$BASE/.push-bad" && head -c 100 "$BASE/2/model.mlpm" >"$BASE/.push-bad/model.mlpm" && mv "$BASE/.push-bad" "$BASE/3"
for ((i = 0; i < 50; i++)); do grep -q 'version 3 refused' "$TMP/serve.log" && break; sleep 0.1; done
grep -q 'model penguins: version 3 refused: ' "$TMP/serve.log" && ok || not_ok "no refusal line for the damaged version"
http POST /v1/models/penguins:predict "$TMP/lists.json"; expect_code 200 "after a damaged version"; compare "after the damage"
http GET /v1/models/penguins/versions/3; expect_code 200 "status of the refused version"
expect_jq '.model_version_status[0].state == "END" and (.model_version_status[0].status.error_message | length > 0)'

# ---- /metrics: Prometheus text of what happened above
CODE=$(curl -s -o "$TMP/metrics" -w '%{http_code} %{content_type}' "$URL/metrics")
[ "$CODE" = "200 text/plain; version=0.0.4" ] && ok || not_ok "GET /metrics: $CODE"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
n=$(awk '/^mlpipe_serve_requests_total\{model="penguins",version="[12]",code="200"\}/ { s += $2 } END { print s + 0 }' "$TMP/metrics")
[ "$n" -ge 2000 ] && ok || not_ok "requests answered by versions 1 and 2: '$n'"
[ "$(metric 'mlpipe_serve_requests_total{model="nope",version="0",code="404"}')" = 2 ] && ok || not_ok "the 404s of model nope"
[ "$(metric 'mlpipe_serve_requests_total{model="penguins",version="1",code="400"}')" -ge 7 ] && ok || not_ok "the 400s of version 1"
[ "$(metric 'mlpipe_serve_loads_total{model="penguins"}')" = 2 ] && ok || not_ok "loads: $(metric 'mlpipe_serve_loads_total{model="penguins"}')"
[ "$(metric 'mlpipe_serve_load_failures_total{model="penguins"}')" = 1 ] && ok || not_ok "refusals"
# a histogram's buckets grow and end at its count
awk '/^mlpipe_serve_request_duration_seconds_bucket\{model="penguins"/ { if ($2 < last) bad = 1; last = $2 }
	/^mlpipe_serve_request_duration_seconds_count\{model="penguins"\}/ { count = $2 }
	END { exit !(last > 0 && last == count && !bad) }' "$TMP/metrics" && ok || not_ok "the latency histogram is not cumulative"
[ "$(metric 'mlpipe_serve_request_rows_bucket{model="penguins",le="64"}')" -ge 2000 ] && ok || not_ok "the rows histogram"
grep -vq '^#\|^mlpipe_serve_[a-z_]*\({[^}]*}\)\? [0-9.e+-]*$' "$TMP/metrics" && not_ok "a line that is not Prometheus text: $(grep -v '^#\|^mlpipe_serve_[a-z_]*\({[^}]*}\)\? [0-9.e+-]*$' "$TMP/metrics" | head -2)" || ok

# ---- SIGTERM drains and exits 0
kill -TERM "$PID"; wait "$PID"; rc=$?
[ "$rc" -eq 0 ] && ok || { not_ok "serve exited $rc on SIGTERM:"; grep -v '^mlpipe serve' "$TMP/serve.log" | head -40; }
grep -q 'draining' "$TMP/serve.log" && ok || not_ok "no draining line"

# ---- limits: a large body is 413, a slow client is cut off
start_server "$BASE" penguins --max_body_bytes 2048 --request_timeout_seconds 1
http POST /v1/models/penguins:predict "$TMP/objects.json"; expect_code 413 "a body over the limit"; expect_error "over the limit"
exec 3<>"/dev/tcp/$(echo "${URL#http://}" | tr : /)"
printf 'POST /v1/models/penguins:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"inst' >&3
sleep 2.5
if timeout 2 cat <&3 >/dev/null; then ok; else not_ok "a slow client was not cut off"; fi
exec 3<&-
stop_server

# ---- no version yet: 503, then the first one arrives
mkdir -p "$TMP/empty"
start_server "$TMP/empty" later
http POST /v1/models/later:predict "$TMP/lists.json"; expect_code 503 "before any version"; expect_error "no version loaded yet"
cp -r "$BASE/1" "$TMP/empty/.push-1" && mv "$TMP/empty/.push-1" "$TMP/empty/5"
for ((i = 0; i < 50; i++)); do grep -q 'version 5 loaded' "$TMP/serve.log" && break; sleep 0.1; done
http POST /v1/models/later:predict "$TMP/lists.json"; expect_code 200 "the first version"; compare first
stop_server

# ---- a model config file (TF Serving's text format): specific versions, labels,
# a second model; read again when it changes
cat >"$TMP/models.config" <<EOF
# two models
model_config_list {
  config {
    name: "penguins"
    base_path: "$BASE"
    model_platform: "mlpipe"
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: "stable" value: 1 }
    version_labels { key: 'canary' value: 2 }
  }
  config { name: "later" base_path: "$TMP/empty" }
}
EOF
"$MLPIPE" serve --model_config_file "$TMP/models.config" --rest_api_port 0 --file_system_poll_wait_seconds 1 \
	2>"$TMP/serve.log" &
PID=$!
for ((i = 0; i < 300; i++)); do grep -q ' on http://' "$TMP/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$TMP/serve.log" | head -1)
http GET /v1/models/penguins; expect_code 200 "status under a config"
expect_jq '[.model_version_status[] | select(.state == "AVAILABLE") | .version] == ["1", "2"]'
http GET /v1/models/penguins/labels/stable; expect_code 200 "status by label"
expect_jq '.model_version_status[0].version == "1"'
http POST /v1/models/penguins/labels/canary:predict "$TMP/lists.json"; expect_code 200 "predict by label"; compare canary
http POST /v1/models/penguins/labels/stable:predict "$TMP/lists.json"; expect_code 200 "the stable label"; compare stable
http GET /v1/models/penguins/labels/stable/metadata; expect_code 200 "metadata by label"
expect_jq '.model_spec.version == "1"'
http POST /v1/models/penguins/labels/nope:predict "$TMP/lists.json"; expect_code 404 "an unknown label"; expect_error "no label 'nope'"
http POST /v1/models/penguins/versions/3:predict "$TMP/lists.json"; expect_code 404 "a version the policy leaves out"
http POST /v1/models/later:predict "$TMP/lists.json"; expect_code 200 "the second model"; compare second
# the canary becomes version 1 and the policy the latest: read again
sleep 1.1
sed -i -e "s/key: 'canary' value: 2/key: 'canary' value: 1/" -e 's/model_version_policy { specific { versions: 1 versions: 2 } }/model_version_policy { latest { num_versions: 2 } }/' \
	"$TMP/models.config"
for ((i = 0; i < 50; i++)); do grep -q 'read .* again' "$TMP/serve.log" && break; sleep 0.1; done
sleep 0.3
http GET /v1/models/penguins/labels/canary; expect_code 200 "the changed label"
expect_jq '.model_version_status[0].version == "1"'
# a broken edit is refused, and what is served stays
sleep 1.1
echo 'model_config_list { config { nme: "x" } }' >"$TMP/models.config"
for ((i = 0; i < 50; i++)); do grep -q 'changed config is refused' "$TMP/serve.log" && break; sleep 0.1; done
grep -q 'the changed config is refused, the last one stays: .*models.config:1:30: unknown field .nme. (did you mean .name.?)' \
	"$TMP/serve.log" && ok || { not_ok "no refusal line for a broken config:"; tail -3 "$TMP/serve.log"; }
http POST /v1/models/penguins/labels/stable:predict "$TMP/lists.json"; expect_code 200 "after a broken config"
stop_server
# a broken config at the start is a one-line error with its position
printf 'model_config_list {\n  config {\n    name: "a"\n    base_path: 7\n  }\n}\n' >"$TMP/bad.config"
expect_exit 2 "$MLPIPE" serve --model_config_file "$TMP/bad.config"
expect_err "bad.config:4:16: 'base_path' takes a quoted string"
printf 'model_config_list { config { name: "a" base_path: "/x" model_version_policy { specific { } } } }\n' >"$TMP/bad.config"
expect_exit 2 "$MLPIPE" serve --model_config_file "$TMP/bad.config"
expect_err "a specific policy names its versions"
expect_exit 2 "$MLPIPE" serve --model_config_file "$TMP/bad.config" --model_name x
expect_err "not both"

# ---- server-side batching: concurrent one-row requests share GEMMs, and
# each still gets its own row's answer
start_server "$BASE" penguins --enable_batching --batch_timeout_micros 5000 --threads 4 --num_batch_threads 2
post_rows_at_once "$TMP/lists.json" "$TMP/b" penguins 400
for ((i = 0; i < 400; i++)); do
	jq -r '.predictions[] | [.class] + (.probabilities | map(tostring)) | join(",")' "$TMP/b/out$i.json"
done >"$TMP/batched.csv"
tail -n +2 "$TMP/predict.csv" >"$TMP/want40.csv"
for ((i = 0; i < 10; i++)); do cat "$TMP/want40.csv"; done | paste -d, - "$TMP/batched.csv" | awk -F, '
	{ n = NF / 2; if ($1 != $(n + 1)) bad++
	  for (i = 2; i <= n; i++) { d = $i - $(n + i); if (d < 0) d = -d; if (d > m) m = d } ; rows++ }
	END { if (rows != 400 || bad || m > 1e-6) { printf "batched: %d rows, %d differ, max %g\n", rows, bad, m; exit 1 } }' &&
	ok || not_ok "a batched request got another row's answer"
curl -s "$URL/metrics" >"$TMP/metrics"
batches=$(awk '$1 == "mlpipe_serve_batch_rows_count{model=\"penguins\"}" { print $2 }' "$TMP/metrics")
rows=$(awk '$1 == "mlpipe_serve_batch_rows_sum{model=\"penguins\"}" { print $2 }' "$TMP/metrics")
[ "${rows:-0}" = 400 ] && [ "${batches:-400}" -lt 400 ] && ok ||
	not_ok "no request shared a GEMM: $batches batches for $rows rows"
stop_server

# ---- a model of numbers only: rows of plain numbers take the fast path
# (no JSON tree), and answer exactly as the general path and predict do
N=$TMP/num
mkdir -p "$N/data"
cut -d, -f1,3-6 "$P/data/penguins.csv" | grep -v ',NA' >"$N/data/num.csv"
cat >"$N/num.yaml" <<'EOF'
pipeline: { name: num, root: runs, metadata: runs/metadata.db }
components:
  - id: ingest
    type: ExampleGen
    params: { format: csv, path: data/num.csv, label: species, eval_fraction: 0.2 }
  - id: statistics
    type: StatisticsGen
    inputs: { examples: ingest.examples }
  - id: transform
    type: Transform
    inputs: { examples: ingest.examples, statistics: statistics.statistics }
  - id: train
    type: Trainer
    inputs: { examples: transform.transformed_examples, transform: transform.transform }
    params: { model: { layers: [ {dense: 8, activation: relu}, {dense: auto} ] }, epochs: 5 }
EOF
expect_exit 0 "$MLPIPE" --quiet run "$N/num.yaml"
mkdir -p "$N/serving" && cp -r "$(ls -d "$N"/runs/num/train/model/* | head -1)" "$N/serving/1"
head -41 "$N/data/num.csv" | cut -d, -f2- >"$TMP/numrows.csv"
expect_exit 0 "$MLPIPE" predict "$N/serving/1" "$TMP/numrows.csv" -o "$TMP/predict.csv"
tail -n +2 "$TMP/numrows.csv" | awk -F, 'BEGIN { printf "{\"instances\": [" }
	{ printf "%s[%s]", (NR > 1 ? ", " : ""), $0 } END { printf "]}" }' >"$TMP/numlists.json"
jq '{instances: [.instances[] | {bill_length_mm: .[0], bill_depth_mm: .[1], flipper_length_mm: .[2], body_mass_g: .[3]}]}' \
	"$TMP/numlists.json" >"$TMP/numobjects.json"
start_server "$N/serving" num
http POST /v1/models/num:predict "$TMP/numlists.json"; expect_code 200 "lists of numbers (the fast path)"; compare fast
cp "$TMP/out" "$TMP/fast.json"
http POST /v1/models/num:predict "$TMP/numobjects.json"; expect_code 200 "objects (the general path)"; compare general
cmp -s "$TMP/fast.json" "$TMP/out" && ok || not_ok "the fast and the general path answer differently"
printf '{"instances": [[1, 2, 3, 4,]]}' >"$TMP/b.json"
http POST /v1/models/num:predict "$TMP/b.json"; expect_code 400 "a malformed list"; expect_error "bad JSON at byte"
printf '{"instances": [[1, 2, 3]]}' >"$TMP/b.json"
http POST /v1/models/num:predict "$TMP/b.json"; expect_code 400 "a short list"; expect_error "row 0 has 3 values; the model takes 4"
printf '{"instances": [[1, 2, 3, 4]], "extra": 1}' >"$TMP/b.json"
http POST /v1/models/num:predict "$TMP/b.json"; expect_code 200 "another key (the general path)"
printf ' { "instances" : [ [ 1e1 , -0.5 , 2E-1 , null ] ] } ' >"$TMP/b.json"
http POST /v1/models/num:predict "$TMP/b.json"; expect_code 200 "spaces, exponents and null"
expect_jq '.predictions | length == 1'
stop_server

# the fast path joins batches too: concurrent one-row requests share GEMMs
# on two batch threads, and each gets its own row's answer
start_server "$N/serving" num --enable_batching --batch_timeout_micros 5000 --threads 4 --num_batch_threads 2
http POST /v1/models/num:predict "$TMP/numlists.json"; expect_code 200 "40 rows in one batch"
cmp -s "$TMP/fast.json" "$TMP/out" && ok || not_ok "a batched fast request answers differently"
post_rows_at_once "$TMP/numlists.json" "$TMP/nb" num 200
for ((i = 0; i < 200; i++)); do
	jq -c '.predictions[0]' "$TMP/nb/out$i.json"
done >"$TMP/nbatched.txt"
for ((i = 0; i < 5; i++)); do jq -c '.predictions[]' "$TMP/fast.json"; done | cmp -s - "$TMP/nbatched.txt" && ok ||
	not_ok "a batched fast request got another row's answer"
curl -s "$URL/metrics" >"$TMP/metrics"
batches=$(awk '$1 == "mlpipe_serve_batch_rows_count{model=\"num\"}" { print $2 }' "$TMP/metrics")
rows=$(awk '$1 == "mlpipe_serve_batch_rows_sum{model=\"num\"}" { print $2 }' "$TMP/metrics")
[ "${rows:-0}" = 240 ] && [ "${batches:-240}" -lt 240 ] && ok ||
	not_ok "no fast request shared a GEMM: $batches batches for $rows rows"
stop_server

# ---- no allocation of mlpipe's per request after warm-up: on the fast
# path a request reuses its connection's body and answer buffers and its
# thread's workspaces.  valgrind counts the heap blocks of 50 and of 250
# requests on one kept-alive connection; the difference may only be
# libmicrohttpd's own per answer (its response object and headers: 4).
# Sanitizer builds cannot run under valgrind: the release build's run counts.
if nm "$MLPIPE" 2>/dev/null | grep -qE '__(asan|tsan)_init'; then
	echo "serve.sh: a sanitizer build: the allocation count is left to the release build"
elif ! command -v valgrind >/dev/null; then
	not_ok "valgrind is not installed (make deps installs it)"
else
	printf '{"instances": [[39.1, 18.7, 181, 3750]]}' >"$TMP/row.json"

	# heap_blocks N: the heap blocks a server allocated in its life, serving N
	# requests on one connection, into $TMP/blocksN
	heap_blocks() {
		local n=$1 i pid url=
		valgrind --log-file="$TMP/vg$n.log" "$MLPIPE" serve --model_name num --model_base_path "$N/serving" \
			--rest_api_port 0 --threads 2 2>"$TMP/serve$n.log" &
		pid=$!
		for ((i = 0; i < 300; i++)); do
			url=$(grep -o 'http://[0-9.:]*' "$TMP/serve$n.log" | head -1)
			[ -n "$url" ] && break
			sleep 0.1
		done
		{ for ((i = 0; i < n; i++)); do
			echo "url = \"$url/v1/models/num:predict\""
			echo "data-binary = \"@$TMP/row.json\""
			echo 'write-out = "%{http_code}\n"'
			echo 'output = "/dev/null"'
			[ "$i" -lt $((n - 1)) ] && echo 'next'
		  done; } >"$TMP/k$n.cfg"
		curl -s -K "$TMP/k$n.cfg" >"$TMP/codes$n"
		kill -TERM "$pid"; wait "$pid"
		[ "$(grep -c '^200$' "$TMP/codes$n")" -eq "$n" ] && ok || not_ok "$n requests: $(sort "$TMP/codes$n" | uniq -c | tr '\n' ' ')"
		sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$TMP/vg$n.log" | tr -d , >"$TMP/blocks$n"
	}
	heap_blocks 50
	heap_blocks 250
	a=$(cat "$TMP/blocks50") b=$(cat "$TMP/blocks250")
	if [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -le $((200 * 4)) ]; then ok; else
		not_ok "200 more requests took $((b - a)) more heap blocks (libmicrohttpd's are 4 a request): $a and $b"
	fi
fi

expect_exit 2 "$MLPIPE" serve --model_name x
expect_err "serve needs --model_name NAME and --model_base_path DIR"
expect_exit 2 "$MLPIPE" serve --model_name x --model_base_path "$TMP/nope"
expect_err "is not a folder"
expect_exit 2 "$MLPIPE" serve --model_name x --model_base_path "$TMP/empty" --rest_api_port 70000
expect_err "--rest_api_port"
finish
