"""Typed keys of the objects the bot service's aiohttp application holds."""
from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.core.crypto import KeyRing
from bot.rasa.client import RasaClient
from bot.core.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DB_ENGINE = web.AppKey("db_engine", Engine)
DB_SESSIONS = web.AppKey("db_sessions", sessionmaker)
KEY_RING = web.AppKey("key_ring", KeyRing)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
