# Shell helpers of bench/run (sourced): results records, child processes, nginx, wrk and the Python
# clients. Expects $here (bench/), $work (a private temp dir) and $results (a JSON-lines file).

declare -A url=() pid=() command_of=()
failures=0

# A step that did not work: counted (bench/run exits 1 at the end) and shown at once.
fail() {
  failures=$((failures + 1))
  echo "bench/run: FAILED: $*" >&2
  [[ -z "${results:-}" ]] || record failure what="$*"
}

json_escape() {
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/ }"
  s="${s//$'\r'/ }"
  printf '%s' "${s//$'\t'/ }"
}

# record KIND key=value... : appends one JSON object to $results. Numbers stay numbers; a key
# ending in :json takes its value as raw JSON.
record() {
  local line="{\"kind\":\"$1\"" kv key value
  shift
  for kv in "$@"; do
    key="${kv%%=*}"
    value="${kv#*=}"
    if [[ "$key" == *:json ]]; then
      line+=",\"${key%:json}\":$value"
    elif [[ "$value" =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
      line+=",\"$key\":$value"
    else
      line+=",\"$key\":\"$(json_escape "$value")\""
    fi
  done
  printf '%s}\n' "$line" >>"$results"
}

# start_server NAME COMMAND... : starts a server that prints `listening on URL` when ready; sets
# url[NAME] and pid[NAME]. A server that does not start ends the run: nothing after it would mean
# anything.
start_server() {
  local name="$1"
  shift
  command_of[$name]="$(printf '%q ' "$@")"
  : >"$work/$name.out"
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid[$name]=$!
  local deadline=$((SECONDS + 30))
  until grep -q '^listening on ' "$work/$name.out"; do
    if ! kill -0 "${pid[$name]}" 2>/dev/null || ((SECONDS > deadline)); then
      echo "bench/run: $name did not start: $*" >&2
      tail -5 "$work/$name.err" >&2
      exit 1
    fi
    sleep 0.05
  done
  url[$name]="$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)"
}

# A server that died under load is a failure of the run; it is started again (on a new port) so
# that the remaining measurements still happen. Its stderr is kept in the failure message.
restart_if_dead() {
  local name="$1" context="${2:-the last measurement}"
  [[ -n "${pid[$name]:-}" ]] || return 0
  kill -0 "${pid[$name]}" 2>/dev/null && return 0
  local status=0
  wait "${pid[$name]}" 2>/dev/null || status=$?
  fail "$name exited (status $status) during $context; its stderr: $(tail -3 "$work/$name.err" | tr '\n' ' ')"
  cp "$work/$name.err" "$work/$name.crashed.err"
  eval "start_server $name ${command_of[$name]}"
}

stop_server() {
  local name="$1" p="${pid[$1]:-}"
  unset "pid[$name]"
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

stop_all() {
  local name
  for name in "${!pid[@]}"; do
    stop_server "$name"
  done
}

stop_all_but_sim0() {
  local name
  for name in "${!pid[@]}"; do
    [[ "$name" == sim0 ]] || stop_server "$name"
  done
}

# start_nginx WORKERS NAME UPSTREAM [NAME UPSTREAM...] : one nginx, a plain keep-alive reverse proxy
# per pair (server NAME in front of url[UPSTREAM]); sets url[NAME]. nginx needs fixed ports: free
# ones are picked, and picked again if one was taken meanwhile.
start_nginx() {
  local workers="$1"
  shift
  local pairs=("$@") dir="$work/nginx" attempt i
  local n=$((${#pairs[@]} / 2))
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    local ports
    read -r -a ports <<<"$(python3 "$here/tools/clients.py" free-ports "$n")"
    {
      echo "worker_processes $workers;"
      echo "pid $dir/nginx.pid;"
      echo "error_log $dir/error.log warn;"
      echo "events { worker_connections 8192; }"
      echo "http {"
      echo "  access_log off;"
      for t in client_body proxy fastcgi uwsgi scgi; do
        echo "  ${t}_temp_path $dir/${t}_temp;"
      done
      echo "  client_max_body_size 0;"
      echo "  keepalive_requests 1000000;"
      echo "  keepalive_timeout 300s;"
      for ((i = 0; i < n; i++)); do
        local up="${url[${pairs[2 * i + 1]}]#http://}"
        echo "  upstream u$i { server $up; keepalive 32; keepalive_requests 1000000; }"
        echo "  server {"
        echo "    listen 127.0.0.1:${ports[i]};"
        echo "    location / {"
        echo "      proxy_pass http://u$i;"
        echo "      proxy_http_version 1.1;"
        echo "      proxy_set_header Connection \"\";"
        echo "      proxy_buffering off;"
        echo "      proxy_request_buffering off;"
        echo "    }"
        echo "  }"
      done
      echo "}"
    } >"$dir/nginx.conf"
    : >"$dir/error.log"
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' \
      >"$work/nginx.out" 2>&1 &
    pid[nginx]=$!
    local ready=false deadline=$((SECONDS + 20))
    while kill -0 "${pid[nginx]}" 2>/dev/null && ((SECONDS <= deadline)); do
      ready=true
      for ((i = 0; i < n; i++)); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[i]}/api/tags")" == 200 ]] ||
          ready=false
      done
      $ready && break
      sleep 0.05
    done
    if $ready; then
      for ((i = 0; i < n; i++)); do
        url[${pairs[2 * i]}]="http://127.0.0.1:${ports[i]}"
      done
      return 0
    fi
    stop_server nginx
    if ! grep -q 'Address already in use' "$dir/error.log" "$work/nginx.out"; then
      echo "bench/run: nginx did not start:" >&2
      cat "$dir/error.log" "$work/nginx.out" >&2
      exit 1
    fi
  done
  echo "bench/run: nginx found no free port in 5 attempts" >&2
  exit 1
}

# run_wrk TEST ROUTE C WHO ROUND METHOD BODY_FILE|- URL SECONDS : one wrk run, recorded unless TEST
# is - (warm-up). Any socket error or non-2xx answer counts as a failure.
run_wrk() {
  local test="$1" route="$2" c="$3" who="$4" round="$5" method="$6" body="$7" target="$8"
  local secs="$9" line
  [[ "$body" != - ]] || body=""
  if ! line="$(BENCH_METHOD="$method" BENCH_BODY_FILE="$body" \
    wrk -t1 -c"$c" -d"${secs}s" --timeout 10s -s "$here/wrk/request.lua" "$target" 2>&1 |
    grep '^BENCH_RESULT ')"; then
    fail "wrk $route c=$c via $who ($target)"
    return 0
  fi
  local fields
  read -r -a fields <<<"${line#BENCH_RESULT }"
  if [[ " ${fields[*]} " != *" errors=0 "* || " ${fields[*]} " != *" non2xx=0 "* ]]; then
    fail "wrk $route c=$c via $who: ${line#BENCH_RESULT }"
  fi
  [[ "$test" == - ]] || record wrk test="$test" route="$route" c="$c" contender="$who" \
    round="$round" "${fields[@]}"
}

# run_client KIND [key=value...] -- CLIENT_ARGS... : runs tools/clients.py and records its JSON.
run_client() {
  local kind="$1" extra=() json
  shift
  while [[ "$1" != -- ]]; do
    extra+=("$1")
    shift
  done
  shift
  if json="$(python3 "$here/tools/clients.py" "$@")"; then
    record "$kind" "${extra[@]}" "data:json=$json"
  else
    fail "$kind ${extra[*]}: ${json:-no output}"
  fi
}

# Waits until the 1-minute load average is below MAX (polled every 30 s), at most TIMEOUT seconds.
wait_for_quiet_machine() {
  local max="$1" timeout="$2" start=$SECONDS load
  while true; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if python3 -c "import sys; sys.exit(0 if float('$load') < float('$max') else 1)"; then
      echo "bench/run: load average $load < $max, starting" >&2
      return 0
    fi
    if ((SECONDS - start >= timeout)); then
      echo "bench/run: load average still $load after ${timeout}s; running anyway" >&2
      return 0
    fi
    echo "bench/run: load average $load >= $max, waiting" >&2
    sleep 30
  done
}
