# The Telegram bot, CPU only. Two stages: `make deps` builds a venv with CPU torch and the
# runtime dependencies (no dev tools); the runtime stage copies that venv and the code.
#   docker build -t article-bot .                                  # torch from PyTorch's CPU index
#   docker build --build-arg OFFLINE=1 -t article-bot .            # only deploy/wheelhouse (make wheelhouse)
#   docker build --build-arg BASE_IMAGE=article-bot-base:bookworm-py311 ...   # deploy/base-image.sh
# Works with the classic builder and BuildKit alike (no RUN --mount).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS deps
# python:3.11-slim has no make; the debootstrap base has it already
RUN command -v make >/dev/null || { apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*; }
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Optional wheels for offline builds; the folder holds only a README otherwise.
COPY deploy/wheelhouse/ /wheelhouse/
ARG OFFLINE=0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# This layer changes only with pyproject.toml and the Makefile: code edits reuse it.
COPY pyproject.toml Makefile ./
RUN if [ "$OFFLINE" = 1 ]; then export PIP_NO_INDEX=1; fi; \
    PIP_FIND_LINKS=/wheelhouse make deps VENV=/opt/venv PY=python3 TORCH_INDEX_URL="$TORCH_INDEX_URL" \
    && find /opt/venv -name __pycache__ -path '*/tests/*' -prune -exec rm -rf {} + \
    && rm -f /opt/venv/requirements.txt

FROM ${BASE_IMAGE}
ENV ARTICLE_BOT_DATA_DIR=/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
# An unprivileged user owns the data volume (a new named volume takes this ownership).
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home bot \
    && mkdir -p /data && chown bot:bot /data
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY bot ./bot
COPY embeddings ./embeddings
COPY corpus ./corpus
RUN python -m compileall -q bot embeddings corpus
USER bot
VOLUME ["/data"]

# `health` is healthy only while the bot is serving (see README "Deployment"); the start
# period covers the first start, which converts the model into /data.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["/opt/venv/bin/python", "-m", "bot", "health"]

CMD ["/opt/venv/bin/python", "-m", "bot", "telegram"]
