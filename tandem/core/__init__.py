"""Pieces both services share; imports neither service."""
