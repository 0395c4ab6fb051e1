"""The index on disk: Chroma collections, the manifest, BM25, the lock and the reader/writer guard."""
