"""Use cases over the store: ingest, review decisions, what-if replays, background jobs."""
