"""Glue between TrulyBot and Rasa: the signed input channel, the bot service's client for it, tracker and lock stores, per-turn speedups and model training."""
