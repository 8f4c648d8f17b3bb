#!/usr/bin/env bash
# The deployment, built and run for real: deploy/smoke.sh [--start-engine]
#
#  1. builds the image offline (--network none) from deploy/wheelhouse, on python:3.11-slim
#     when that image is already here, else on a Debian base made by deploy/base-image.sh;
#  2. `python -m bot ask` in a container on a fresh volume (no network at all);
#  3. the bot against the loopback fake Bot API (python -m bot.tools.fakeapi, in a container
#     on the host's network, bound to 127.0.0.1): healthy, answers a message; a rejected token
#     exits 78, an unreachable Bot API exits 69; the Bot API stopped: unhealthy, still running;
#     `docker stop` ends it with SIGTERM (no SIGKILL);
#  4. docker compose config / up (healthy) / down -v with a test .env in a scratch folder.
#
# With --start-engine (CI) it installs Debian's docker.io and starts dockerd when no engine
# answers, and stops the dockerd it started. When no engine can run it prints one line
# "smoke: skipped: ..." and exits 0; any failed step exits 1.
# Only 127.0.0.1 is contacted: containers run with --network none or the host's network.
#
# Environment: BASE_IMAGE (skip the choice above), SMOKE_IMAGE (tag, default article-bot:smoke),
# SMOKE_ONLINE=1 (build with pip's network instead of the wheelhouse), SMOKE_KNOWN_FAILURES
# (space-separated check names, e.g. "sigterm", reported as KNOWN FAILURE instead of failing).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${SMOKE_IMAGE:-article-bot:smoke}
QUESTION="津心辦累計註冊人數是多少？"
TOKEN="123456:TEST-token-for-the-fake-server-only-x"        # what the fake accepts
BAD_TOKEN="654321:REJECTED-token-for-the-smoke-test-only-xx"  # well formed, refused with 401
RUN_ID="smoke$$"
VOLUME="$RUN_ID-data"
SCRATCH=$(mktemp -d)
STARTED_DOCKERD=""
COMPOSE=()
T_START=$(date +%s)

say() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
check_fail() {  # NAME MESSAGE: fails unless NAME is listed in SMOKE_KNOWN_FAILURES
    case " ${SMOKE_KNOWN_FAILURES:-} " in
        *" $1 "*) echo "smoke: KNOWN FAILURE ($1): $2" >&2 ;;
        *) fail "$2" ;;
    esac
}
elapsed() { echo $(( $(date +%s) - $1 )); }

cleanup() {
    set +e
    if [ ${#COMPOSE[@]} -gt 0 ] && [ -f "$SCRATCH/docker-compose.yml" ]; then
        (cd "$SCRATCH" && "${COMPOSE[@]}" -p "$RUN_ID" down -v --timeout 10) >/dev/null 2>&1
    fi
    for name in "$RUN_ID-api" "$RUN_ID-api2" "$RUN_ID-bot" "$RUN_ID-badtoken" "$RUN_ID-noapi"; do
        docker rm -f -v "$name" >/dev/null 2>&1
    done
    docker volume rm -f "$VOLUME" >/dev/null 2>&1
    rm -rf "$SCRATCH"
    if [ -n "$STARTED_DOCKERD" ]; then
        kill "$STARTED_DOCKERD" 2>/dev/null
        wait "$STARTED_DOCKERD" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # run the cleanup when CI's timeout stops us

# ---- 0. an engine ---------------------------------------------------------------------------
engine_up() { docker info >/dev/null 2>&1; }
if ! engine_up && [ "${1:-}" = "--start-engine" ]; then
    if ! command -v dockerd >/dev/null 2>&1; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io) \
            >"$SCRATCH/apt.log" 2>&1 || true
    fi
    if command -v dockerd >/dev/null 2>&1; then
        # a dockerd killed with the previous session leaves its pid file behind
        if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
            rm -f /var/run/docker.pid
        fi
        dockerd >/var/log/article-bot-dockerd.log 2>&1 &
        STARTED_DOCKERD=$!
        for _ in $(seq 60); do engine_up && break; sleep 1; done
    fi
fi
if ! engine_up; then
    say "skipped: no Docker engine can run here (docker info fails${STARTED_DOCKERD:+; dockerd did not start, see /var/log/article-bot-dockerd.log})"
    exit 0
fi
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif [ "${1:-}" = "--start-engine" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) \
        >"$SCRATCH/apt.log" 2>&1 && COMPOSE=(docker-compose)
fi
say "engine $(docker version --format '{{.Server.Version}}'); compose: ${COMPOSE[*]:-none}"

# ---- 1. the image ---------------------------------------------------------------------------
if [ -z "${BASE_IMAGE:-}" ]; then
    if docker image inspect python:3.11-slim >/dev/null 2>&1; then
        BASE_IMAGE=python:3.11-slim
    else
        BASE_IMAGE=$(deploy/base-image.sh)
    fi
fi
build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
if [ "${SMOKE_ONLINE:-0}" != 1 ]; then
    # refilled only when the dependencies change: newer wheels would change the build context
    # and rebuild the dependency layer
    wanted=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"])')
    if [ "$(cat deploy/wheelhouse/.filled-for 2>/dev/null)" != "$wanted" ]; then
        make --no-print-directory wheelhouse >"$SCRATCH/wheelhouse.log" 2>&1 \
            || { tail -20 "$SCRATCH/wheelhouse.log" >&2; fail "make wheelhouse"; }
        echo "$wanted" >deploy/wheelhouse/.filled-for
    fi
    build_args+=(--network none --build-arg OFFLINE=1)
fi
t=$(date +%s)
docker build -q "${build_args[@]}" -t "$IMAGE" . >"$SCRATCH/build.log" 2>&1 \
    || { tail -30 "$SCRATCH/build.log" >&2; fail "docker build"; }
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
say "built $IMAGE on $BASE_IMAGE in $(elapsed "$t") s: $((size / 1000000)) MB"
[ "$size" -le 2000000000 ] || fail "the image is over 2 GB"
user=$(docker run --rm --network none --entrypoint id "$IMAGE" -un)
[ "$user" != root ] || fail "the image runs as root"
docker run --rm --network none --entrypoint sh "$IMAGE" -c \
    '! python -c "import pytest" 2>/dev/null && [ ! -e /app/tests ] && [ ! -d /root/.cache/pip ]' \
    || fail "dev tools, tests/ or a pip cache are in the image"
docker run --rm --network none --entrypoint python "$IMAGE" -c \
    'import torch, sys; sys.exit(torch.version.cuda is not None)' || fail "torch is a CUDA build"

# ---- 2. ask on a fresh volume ---------------------------------------------------------------
docker volume create "$VOLUME" >/dev/null
t=$(date +%s)
docker run --rm --network none -v "$VOLUME:/data" "$IMAGE" \
    python -m bot ask --json "$QUESTION" >"$SCRATCH/ask.json" 2>"$SCRATCH/ask.err" \
    || { cat "$SCRATCH/ask.err" >&2; fail "python -m bot ask in a container"; }
first=$(elapsed "$t")
python3 -c 'import json, sys; a = json.loads(open(sys.argv[1]).readline()); sys.exit(not a["answered"])' \
    "$SCRATCH/ask.json" || { cat "$SCRATCH/ask.json" >&2; fail "ask did not answer"; }
if grep -q "DEBUG" "$SCRATCH/ask.err"; then cat "$SCRATCH/ask.err" >&2; fail "DEBUG lines at the default level"; fi
t=$(date +%s)
docker run --rm --network none -v "$VOLUME:/data" "$IMAGE" python -m bot ask "$QUESTION" >/dev/null 2>&1 \
    || fail "second ask"
say "ask in a container: answered; first (fresh volume) $first s, again $(elapsed "$t") s"

# ---- 3. the bot against the loopback Bot API -----------------------------------------------
start_api() {  # NAME [--ask TEXT]: prints the base URL
    docker run -d --name "$1" --network host "$IMAGE" \
        python -m bot.tools.fakeapi --seconds 1500 "${@:2}" >/dev/null
    for _ in $(seq 60); do
        url=$(docker logs "$1" 2>/dev/null | sed -n 's/^base_url //p')
        [ -n "$url" ] && { echo "$url"; return 0; }
        sleep 0.5
    done
    docker logs "$1" >&2; return 1
}
health() { docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }
wait_health() {  # CONTAINER STATUS SECONDS
    for _ in $(seq "$3"); do
        [ "$(health "$1")" = "$2" ] && return 0
        [ "$(docker inspect --format '{{.State.Running}}' "$1")" = true ] || return 1
        sleep 1
    done
    return 1
}
FAST_HEALTH=(--health-interval 5s --health-timeout 10s --health-retries 2 --health-start-period 120s)

api_url=$(start_api "$RUN_ID-api" --ask "$QUESTION") || fail "fake Bot API did not start"

run_exit() {  # NAME TOKEN URL: runs the bot to its end; prints "CODE SECONDS"
    local t0; t0=$(date +%s)
    docker run --name "$1" --network host -v "$VOLUME:/data" \
        -e TELEGRAM_BOT_TOKEN="$2" -e TELEGRAM_API_BASE_URL="$3" "$IMAGE" \
        >"$SCRATCH/$1.log" 2>&1 && code=0 || code=$?
    echo "$code $(elapsed "$t0")"
}
read -r code secs < <(run_exit "$RUN_ID-badtoken" "$BAD_TOKEN" "$api_url")
lines=$(wc -l <"$SCRATCH/$RUN_ID-badtoken.log")
say "rejected token: exit $code after $secs s, $lines log line(s): $(tail -1 "$SCRATCH/$RUN_ID-badtoken.log")"
[ "$code" = 78 ] || { cat "$SCRATCH/$RUN_ID-badtoken.log" >&2; fail "a rejected token should exit 78"; }
[ "$lines" -le 3 ] || { cat "$SCRATCH/$RUN_ID-badtoken.log" >&2; fail "a rejected token should log one clear line"; }
[ "$secs" -lt 10 ] || say "note: a life over 10 s resets Docker's restart back-off (see README)"

read -r code secs < <(run_exit "$RUN_ID-noapi" "$TOKEN" "http://127.0.0.1:9/bot")
say "unreachable Bot API: exit $code after $secs s: $(tail -1 "$SCRATCH/$RUN_ID-noapi.log")"
[ "$code" = 69 ] || { cat "$SCRATCH/$RUN_ID-noapi.log" >&2; fail "an unreachable Bot API should exit 69"; }

t=$(date +%s)
docker run -d --name "$RUN_ID-bot" --network host -v "$VOLUME:/data" "${FAST_HEALTH[@]}" \
    -e TELEGRAM_BOT_TOKEN="$TOKEN" -e TELEGRAM_API_BASE_URL="$api_url" "$IMAGE" >/dev/null
wait_health "$RUN_ID-bot" healthy 180 || { docker logs "$RUN_ID-bot" >&2; fail "the bot never turned healthy"; }
say "bot healthy $(elapsed "$t") s after docker run"
for _ in $(seq 60); do docker logs "$RUN_ID-api" 2>/dev/null | grep -q '^{"sent"' && break; sleep 1; done
docker logs "$RUN_ID-api" 2>/dev/null | grep -q '^{"sent"' || fail "the bot did not answer the queued message"
say "the bot answered a Telegram message through the loopback Bot API"

docker stop -t 5 "$RUN_ID-api" >/dev/null
t=$(date +%s)
wait_health "$RUN_ID-bot" unhealthy 300 \
    || { docker logs --tail 30 "$RUN_ID-bot" >&2; fail "the bot did not turn unhealthy (or exited) with the Bot API gone"; }
say "Bot API stopped: unhealthy after $(elapsed "$t") s, the bot still running (it retries)"
t=$(date +%s)
docker stop -t 10 "$RUN_ID-bot" >/dev/null
code=$(docker inspect --format '{{.State.ExitCode}}' "$RUN_ID-bot")
say "docker stop during the outage: exit $code after $(elapsed "$t") s"
[ "$code" != 137 ] || check_fail sigterm "SIGTERM did not stop the bot within 10 s (SIGKILL)"
if grep -q "DEBUG" <(docker logs "$RUN_ID-bot" 2>&1); then fail "DEBUG lines in the container log"; fi

# ---- 4. docker compose ---------------------------------------------------------------------
if [ ${#COMPOSE[@]} -eq 0 ]; then
    say "compose: skipped, neither 'docker compose' nor docker-compose is installed"
else
    api_url=$(start_api "$RUN_ID-api2") || fail "second fake Bot API did not start"
    cp docker-compose.yml "$SCRATCH/"
    printf 'TELEGRAM_BOT_TOKEN=%s\nTELEGRAM_API_BASE_URL=%s\n' "$TOKEN" "$api_url" >"$SCRATCH/.env"
    # the one change for the test: the host's network, so the bot reaches 127.0.0.1
    cat >"$SCRATCH/docker-compose.override.yml" <<'EOF'
services:
  bot:
    network_mode: host
    healthcheck:
      interval: 5s
EOF
    cd "$SCRATCH"
    export ARTICLE_BOT_IMAGE="$IMAGE"
    "${COMPOSE[@]}" -p "$RUN_ID" config -q || fail "compose config"
    t=$(date +%s)
    "${COMPOSE[@]}" -p "$RUN_ID" up -d --no-build >"$SCRATCH/up.log" 2>&1 \
        || { cat "$SCRATCH/up.log" >&2; fail "compose up"; }
    cid=$("${COMPOSE[@]}" -p "$RUN_ID" ps -q bot)
    wait_health "$cid" healthy 240 || { docker logs "$cid" >&2; fail "compose: the bot never turned healthy"; }
    policy=$(docker inspect --format '{{.HostConfig.RestartPolicy.Name}}' "$cid")
    say "compose up: healthy after $(elapsed "$t") s (restart policy $policy)"
    "${COMPOSE[@]}" -p "$RUN_ID" down -v --timeout 10 >/dev/null 2>&1 || fail "compose down"
    if docker volume ls -q | grep -q "^${RUN_ID}_bot-data$"; then fail "compose down -v left the volume"; fi
    cd - >/dev/null
    say "compose config, up, down: ok"
fi
say "passed in $(elapsed "$T_START") s"
