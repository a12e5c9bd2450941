"""Services over the app database that the API, dashboard, gateway and actions share: stores, credentials, activity, transcripts, demo data and store health checks."""
