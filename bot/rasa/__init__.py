"""Glue between TrulyBot and Rasa: the signed input channel, the bot service's client for it, tracker and lock stores, per-turn speedups, model training and the NLU order-number extractor."""
