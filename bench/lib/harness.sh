# Sourced by the DNS bench parts (server.sh, forward.sh): the shared harness, copied and mended.
#
# copy_harness SHARED DIR: copies the harness to DIR (the original is never written into), makes
# its query data, and mends the copy's readiness check. bench.sh takes any output of
# `dig +short` for an answer, but dig prints ";; communications error ... connection refused" on
# stdout while nothing listens on the port yet, so the check passed at once and a run began
# (after bench.sh's 0.5 s settle and 1 s warm-up) while Node was still starting: up to a second
# or more of a measured run lost on a loaded machine, a swing of 5-10% between runs. The copy
# waits for a NOERROR response (node-echo's echo is one; a splitdns server still without its
# config answers SERVFAIL or REFUSED).
copy_harness() {
  local shared=$1 dir=$2
  rm -rf "$dir"; cp -r "$shared" "$dir"; (cd "$dir" && node gen.js >/dev/null)
  local old='[ -n "$(dig @$SERVER -p "$PORT" h0.bench.example A +tries=1 +time=1 +short 2>/dev/null)" ]'
  local new='dig @$SERVER -p "$PORT" h0.bench.example A +tries=1 +time=1 2>/dev/null | grep -q "status: NOERROR"'
  if grep -qF "$old" "$dir/bench.sh"; then
    OLD=$old NEW=$new perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$dir/bench.sh"
  elif ! grep -qF "$new" "$dir/bench.sh"; then
    echo "bench: note: the harness's readiness check changed; not mended (check that it waits for a response)"
  fi
}

# wait_answer PORT: waits (up to 10 s) until PORT on 127.0.0.1 answers h0.bench.example with an address.
wait_answer() {
  local _
  for _ in $(seq 50); do
    dig @127.0.0.1 -p "$1" h0.bench.example A +short +tries=1 +time=1 2>/dev/null | grep -q '^[0-9]' && return 0
    sleep 0.2
  done
  echo "bench: nothing answers h0.bench.example on port $1"; return 1
}
