"""Accounts: users with a role and a hashed password."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from moderation.domain.messages import LANGUAGES
from moderation.domain.vocabulary import ROLES  # noqa: F401 - re-exported
from moderation.store.models import User

MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


def add_user(session: Session, username: str, password: str, role: str) -> User:
    """Create a user; the password is stored only as a salted scrypt hash."""
    username = username.strip()
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not username or len(username) > 100:
        raise AccountError("a username has 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if find(session, username) is not None:
        raise AccountError(f"user {username!r} exists already")
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def find(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip())).first()


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way, against timing)."""
    user = find(session, username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if user.active and check_password_hash(user.password_hash, password) else None


def set_role(session: Session, username: str, role: str | None = None, active: bool | None = None) -> User:
    user = find(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    if role is not None:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        user.role = role
    if active is not None:
        user.active = active
    return user


def set_language(session: Session, username: str, language: str | None) -> User:
    """The account's interface language; None follows the browser (Accept-Language)."""
    user = find(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    if language is not None and language not in LANGUAGES:
        raise AccountError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    user.language = language
    return user


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


_DUMMY_HASH = generate_password_hash("not a real password")
