# `mlpipe component`: one component alone, without a pipeline or a store.
. "$(dirname "$0")/lib.sh"

mkdir "$TMP/w" && cd "$TMP/w" || exit 1
mkdir in
echo hello >in/greeting

expect_exit 0 "$MLPIPE" component --list
expect_out "Command"
expect_exit 0 "$MLPIPE" component Command --help
expect_out "cmd"
expect_out "deps"

expect_exit 0 "$MLPIPE" component Command --input words=in --output shout=loud \
	--param cmd='tr a-z A-Z < "$MLPIPE_INPUT_WORDS/greeting" > "$MLPIPE_OUTPUT_SHOUT/g"; echo "size $MLPIPE_PARAM_SIZE" > "$MLPIPE_METRICS"' \
	--param size=5
[ "$(cat loud/g)" = HELLO ] && ok || not_ok "the output was not written"
expect_out "metric size step 0 = 5"

# failure: exit 1, nothing at the output path, no temporary left
expect_exit 1 "$MLPIPE" component Command --output o=failed --param cmd='echo x > "$MLPIPE_OUTPUT_O/x"; exit 4'
expect_err "Command failed: command exited with status 4"
[ ! -e failed ] && ok || not_ok "a failed component's output is visible"
[ -z "$(ls -d failed.tmp-* 2>/dev/null)" ] && ok || not_ok "a temporary output folder remains"

# bad usage
expect_exit 2 "$MLPIPE" component Comand
expect_err "unknown component type 'Comand' (did you mean 'Command'?)"
expect_exit 2 "$MLPIPE" component Command --output o=x
expect_err "Command needs param 'cmd'"
expect_exit 2 "$MLPIPE" component Command --param cmd
expect_err "--param 'cmd': expected NAME=VALUE"
expect_exit 2 "$MLPIPE" component Command --input i=missing --param cmd=true
expect_err "input 'i': 'missing' does not exist"
expect_exit 2 "$MLPIPE" component Command --output shout=loud --param cmd=true
expect_err "output 'shout': 'loud' already exists"
expect_exit 2 "$MLPIPE" component Command --param cmd=true --param cmd=false
expect_err "--param 'cmd' is given twice"
expect_exit 2 "$MLPIPE" component
finish
