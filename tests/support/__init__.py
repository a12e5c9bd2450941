"""Shared test helpers: free ports, real-server availability, and a running TrulyBot stack."""
