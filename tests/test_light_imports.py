"""The bot service must not load Rasa (and with it TensorFlow): it only talks to Rasa over HTTP."""
from __future__ import annotations

import subprocess
import sys

from tests.support.stack import PROJECT


def test_the_bot_service_modules_do_not_import_rasa() -> None:
    code = (
        "import sys\n"
        "import bot.app, bot.process.cli, bot.services.handoff_agent, bot.services.transcripts\n"
        "import bot.dashboard.web, bot.gateway.ws, bot.rasa.history\n"
        "loaded = sorted(m for m in sys.modules if m == 'rasa' or m.startswith(('rasa.', 'tensorflow')))\n"
        "print(','.join(loaded[:5]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"the bot service imported {out.stdout.strip()}"
