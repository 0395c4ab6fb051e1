"""Ingest: files → articles → chunks (rag.chunk) and their vectors → the index (readers, indexer, watch)."""
