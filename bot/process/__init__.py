"""Running TrulyBot: the ``trulybot`` command line and the process supervisor behind ``trulybot up``."""
