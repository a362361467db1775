"""Talking to the outside: signed webhooks, Akismet, rate limits."""
