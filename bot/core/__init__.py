"""Core shared by every TrulyBot process: settings, credential crypto, request signing, signed values, logging, shared secrets and the app database."""
