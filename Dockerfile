# The Telegram bot. The same two steps as the README: `make install`, then the bot.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app
RUN make install

ENV ARTICLE_BOT_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]

HEALTHCHECK --interval=60s --timeout=10s --start-period=180s --retries=3 \
    CMD [".venv/bin/python", "-m", "bot", "health"]

CMD [".venv/bin/python", "-m", "bot", "telegram"]
