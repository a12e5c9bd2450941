"""TrulyBot custom actions for the Rasa action server (rasa_sdk).

The action server imports every module of this package; each defines ``Action`` subclasses.
Store-specific facts come from the message metadata the bot service attaches, never from what the
shopper types.
"""
