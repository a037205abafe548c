"""Pydantic models shared by every stage: records (what flows) and configuration (what steers).

This package imports nothing else of newswatch, so any layer can depend on it.
"""
