"""Run the loopback fake Bot API on its own: ``python -m bot.tools.fakeapi``.

For the deployment smoke test (deploy/smoke.sh), where the bot runs in a container and the
fake server in another process. It binds a free port on 127.0.0.1 only, prints one line
``base_url http://127.0.0.1:PORT/bot`` (the value for TELEGRAM_API_BASE_URL; the token is
``--token``), optionally queues one private message for the bot (``--ask``), prints every
message the bot sends as a JSON line ``{"sent": {...}}``, and stops on SIGTERM or SIGINT.
``--seconds`` bounds its life (default one hour), so a forgotten server stops by itself.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from bot.tools.fakeapi import factories
from bot.tools.fakeapi.server import DEFAULT_TOKEN, FakeBotApi


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tools.fakeapi", description=__doc__)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the token the fake accepts")
    parser.add_argument("--ask", help="queue this text as a private message to the bot")
    parser.add_argument("--url-file", type=Path, help="also write the base URL to this file")
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    with FakeBotApi(args.token) as api:
        # Queued before the URL is announced: whoever reads the URL may ask at once.
        if args.ask:
            api.push_update(factories.message_update(args.ask))
        print(f"base_url {api.base_url}", flush=True)
        if args.url_file:
            args.url_file.write_text(api.base_url + "\n", encoding="utf-8")
        reported = 0
        deadline = args.seconds
        while not stop.wait(0.5) and deadline > 0:
            deadline -= 0.5
            sent = api.sent_messages()
            for params in sent[reported:]:
                print(json.dumps({"sent": params}, ensure_ascii=False, default=str), flush=True)
            reported = len(sent)
        print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
