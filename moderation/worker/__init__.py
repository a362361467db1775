"""The Celery worker: task definitions and their runtime."""
