"""gunicorn settings for the desk: `gunicorn -c deploy/gunicorn.conf.py 'web:create_app()'`.

Each worker process opens its own database pool, loads the rules and models once and warms them on built-in
comments (post_worker_init), so the first comment is not the one that pays for loading. Settings come from the desk's settings object
(moderation.config: MODERATION_* variables, .env, MODERATION_CONFIG_FILE).
"""
from moderation.config import Config

settings = Config.from_env()
bind = settings.bind
workers = settings.web_workers
# Threads overlap the waits on PostgreSQL and Redis; the CPU work (rules, language, model) holds the GIL,
# so processes, not threads, are what scale it.
worker_class = "gthread"
threads = settings.web_threads
keepalive = 30  # a CMS posting comments keeps its connection
timeout = 30
graceful_timeout = 30
max_requests = 20000  # recycled now and then, staggered so they do not all restart at once
max_requests_jitter = 2000
limit_request_line = 8190
limit_request_fields = 100
forwarded_allow_ips = settings.forwarded_allow_ips
accesslog = settings.access_log or None
errorlog = "-"


def post_worker_init(worker) -> None:  # noqa: ANN001
    """Open the database, load the pipeline and warm it on built-in comments before the first request arrives."""
    from moderation.assess.warmup import warm  # noqa: PLC0415
    from moderation.services.ingest import rehearse  # noqa: PLC0415

    app = worker.wsgi
    desk = app.extensions["desk"]
    desk.db  # noqa: B018 - opens the pool and checks the schema
    done = warm(desk.pipeline)  # loads rules, language profiles, models; fills their caches
    rehearse(desk.db, desk.pipeline)  # compiles the submission's statements (rolled back: nothing is kept)
    client = app.test_client()
    client.get("/api/v1/openapi.json")  # routing, the spec, the API's error handling: loaded before a CMS asks
    client.post("/api/v1/comments", json={}, headers={"Authorization": "Bearer warm-up"})  # the key look-up
    worker.log.info("warmed up: %d comments in %.2f s CPU", done.comments, done.cpu_seconds)
