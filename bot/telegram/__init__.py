"""The Telegram adapter (python-telegram-bot): the only package that imports ``telegram``."""

import os

# PTB 22 deprecates integer periods (``RetryAfter.retry_after`` and others) and warns on every
# 429 unless this is set. PTB reads it when it builds such a value, so setting it here, the one
# door into python-telegram-bot, covers the bot, the tools and the tests alike.
os.environ.setdefault("PTB_TIMEDELTA", "true")
