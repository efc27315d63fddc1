#!/usr/bin/env bash
# InfraValidator: mlpipe serve loads the candidate and answers real
# requests as predict does; a model that does not load, or answers too
# slowly, is not infra-blessed, and a Pusher given the InfraBlessing does
# not push it.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$E2E_DIR/../.." && pwd)
P=$TMP/proj
mkdir -p "$P/data"
cp "$REPO/pipelines/data/penguins.csv" "$P/data/"
sed -e 's|  - id: push|  - id: infra\n    type: InfraValidator\n    inputs: { model: train.model, examples: ingest.examples }\n  - id: push|' \
	-e 's|inputs: { model: train.model, blessing: evaluate.blessing }|inputs: { model: train.model, blessing: evaluate.blessing, infra_blessing: infra.infra_blessing }|' \
	"$REPO/pipelines/penguins.yaml" >"$P/penguins.yaml"
grep -q 'type: InfraValidator' "$P/penguins.yaml" && ok || not_ok "the pipeline file was not changed"
expect_exit 0 "$MLPIPE" run "$P/penguins.yaml"
expect_out "infra"
DB=$P/runs/metadata.db
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type InfraBlessing
expect_jq '.[-1].properties.blessed == 1'
IB=$(jq -r '.[-1].uri' "$TMP/out")
grep -q '^blessed	yes$' "$IB/infra_blessing.tsv" && ok || not_ok "infra_blessing.tsv: $(cat "$IB/infra_blessing.tsv")"
grep -q '^reason	[0-9]* requests answered as predict answers' "$IB/infra_blessing.tsv" && ok || not_ok "no reason line"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json metrics --component infra --name latency_max_ms
expect_jq 'length == 1 and .[0].value > 0'
[ -f "$P/serving/penguins/1/model.mlpm" ] && ok || not_ok "an infra-blessed model was not pushed"
ls -a "$P/runs/penguins/.scratch" 2>/dev/null | grep -q infra && not_ok "the candidate's folder was left behind" || ok

# too slow for the budget: not infra-blessed, and the Pusher does not push
expect_exit 0 "$MLPIPE" --quiet run "$P/penguins.yaml" --set infra.max_latency_ms=0.001 --set train.seed=7
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type InfraBlessing
expect_jq '.[-1].properties.blessed == 0'
IB=$(jq -r '.[-1].uri' "$TMP/out")
grep -q '^reason	request 1 took .* ms, over max_latency_ms 0.001$' "$IB/infra_blessing.tsv" && ok ||
	not_ok "no latency reason: $(cat "$IB/infra_blessing.tsv")"
expect_exit 0 "$MLPIPE" meta --db "$DB" --json artifacts --type PushedModel
PM=$(jq -r '.[-1].uri' "$TMP/out")
grep -q '^reason	not infra-blessed: request 1 took' "$PM/pushed.tsv" && ok || not_ok "pushed.tsv: $(cat "$PM/pushed.tsv")"
[ ! -e "$P/serving/penguins/2" ] && ok || not_ok "a model that is not infra-blessed was pushed"

# a damaged model is not infra-blessed (alone, with mlpipe component)
MODEL=$(ls -d "$P"/runs/penguins/train/model/* | head -1)
EX=$(ls -d "$P"/runs/penguins/ingest/examples/* | head -1)
mkdir -p "$TMP/bad" && head -c 200 "$MODEL/model.mlpm" >"$TMP/bad/model.mlpm"
expect_exit 0 "$MLPIPE" component InfraValidator --input model="$TMP/bad" --input examples="$EX" \
	--output infra_blessing="$TMP/ib"
grep -q '^blessed	no$' "$TMP/ib/infra_blessing.tsv" && ok || not_ok "a damaged model was infra-blessed"
grep -q '^reason	the model does not load: .*model.mlpm' "$TMP/ib/infra_blessing.tsv" && ok ||
	not_ok "reason: $(cat "$TMP/ib/infra_blessing.tsv")"
# a split that is not there is a one-line error
expect_exit 2 "$MLPIPE" component InfraValidator --input model="$MODEL" --input examples="$EX" \
	--param split=nope --output infra_blessing="$TMP/ib2"
expect_err "the examples have no split 'nope' to send"
finish
