-- compose.yaml: the tracker store gets its own database next to the app database.
CREATE DATABASE trulybot_tracker OWNER trulybot;
