"""Retrieval: recipes as data, the ranking pipeline, fusion helpers, the second stage."""
