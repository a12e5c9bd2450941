# One image for every TrulyBot process; the command chooses which one (see compose.yaml):
#   trulybot serve                                   bot service (widget socket, API, dashboard)
#   python -m bot.rasa.serve run --model models ...  Rasa server (TrulyBot logging and endpoints)
#   python -m actions.server --host 0.0.0.0          action server
#   trulybot db upgrade                              migrations (run once before the bot services)
# The model is trained at build time, so every Rasa replica loads the same one.
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=3 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TRULYBOT_LOG_FORMAT=json \
    TRULYBOT_DATA_DIR=/var/lib/trulybot

WORKDIR /srv/trulybot
COPY requirements.lock requirements-nodeps.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.lock
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && trulybot train \
    && useradd --system --home-dir /var/lib/trulybot trulybot \
    && mkdir -p /var/lib/trulybot && chown trulybot /var/lib/trulybot

USER trulybot
EXPOSE 8000 5005 5055
CMD ["trulybot", "serve"]
