"""Who sees what: viewers, accounts, sessions and the login slow-down.

The rule is one sentence: a document of visibility `regional` is for everyone; one of
visibility `municipality` only for the users of its municipality; region administrators
(and the single local user of a store without accounts) see everything. `Viewer.filters`
turns it into the store's `Filters`, whose SQL every search, list and count goes through
(index/store.py): nothing else decides.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from index.store import VISIBILITIES, Filters, Store
from kb.text import slugify

__all__ = ["ROLES", "VISIBILITIES", "Accounts", "Backoff", "LoginDelayed", "Viewer"]

ROLES = ("reader", "editor", "admin")
REGIONAL = "regional"  # the municipality of a user of the region itself


class AccessDenied(PermissionError):
    """The viewer may not do this (add, remove or change a document of another
    municipality; a reader writing)."""


@dataclass(frozen=True)
class Viewer:
    """The person a request acts for: a user name, a municipality id (or 'regional') and a
    role: reader, editor, admin, or 'local' (the one user of a store without accounts)."""

    name: str
    municipality: str = REGIONAL
    role: str = "reader"

    @classmethod
    def local(cls, name: str = "local") -> Viewer:
        """Full access, as before accounts existed (the terminal, a store without users)."""
        return cls(name, REGIONAL, "local")

    @classmethod
    def public(cls) -> Viewer:
        """Only regional documents: what a request without a known user may see."""
        return cls("", REGIONAL, "reader")

    @staticmethod
    def resolve(viewer: Viewer | None) -> Viewer:
        """None means the local user (the Python API's default)."""
        return viewer if viewer is not None else Viewer.local()

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "local")

    @property
    def scope(self) -> str:
        """A key for what this viewer sees (caches of derived data are kept per scope)."""
        return "*" if self.sees_all else self.municipality

    def filters(self, **kw) -> Filters:
        """The store filters of this viewer, with any other filters (kind, municipality...)."""
        if self.sees_all:
            return Filters(**kw)
        return Filters(**kw, viewer_municipality=self.municipality, see_all=False)

    def may_edit(self, municipality: str | None) -> bool:
        """May this viewer add, remove or change the visibility of a document of
        `municipality`? Admins and the local user any; an editor their own municipality's."""
        if self.sees_all:
            return True
        return self.role == "editor" and bool(municipality) and municipality == self.municipality

    def owner(self, municipality: str | None) -> str | None:
        """The municipality documents this viewer adds belong to: an editor's own (any other
        is refused); for admins and the local user the one given."""
        wanted = slugify(municipality) if municipality else None
        if self.sees_all:
            return wanted
        if self.role != "editor":
            raise AccessDenied(f"{self.name} is a reader: only editors add documents")
        if wanted and wanted != self.municipality:
            raise AccessDenied(f"{self.name} edits documents of {self.municipality} only")
        return self.municipality


class LoginDelayed(Exception):
    """Too many failed logins for this user or address: try again after `seconds`."""

    def __init__(self, seconds: float):
        super().__init__(f"too many failed logins: try again in {seconds:.0f} s")
        self.seconds = seconds


class Backoff:
    """Failed logins slow down further attempts, per user name and per client address: after
    n failures, the next attempt is refused for base * 2**(n-1) seconds (at most `cap`).
    In memory: a restart forgets (the hash's own cost still bounds guessing)."""

    def __init__(self, base: float = 1.0, cap: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.base, self.cap, self.clock = base, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (count, not before)
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds until these keys may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._failures.get(k, (0, 0.0))[1] - now for k in keys])

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a flood of names
                self._failures.clear()
            for k in keys:
                n = self._failures.get(k, (0, 0.0))[0] + 1
                self._failures[k] = (n, now + min(self.cap, self.base * 2 ** (n - 1)))

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users (argon2-hashed passwords) and their sessions, kept in the store's SQLite.

    Args:
        legacy: the old single `KB_AUTH` login ('user:password'): full access, kept working.
        session_hours: how long a session lasts after its login.
        backoff: the login slow-down (shared by every login of this process).
    """

    def __init__(self, store: Store, legacy: str = "", session_hours: float = 12.0,
                 backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        from argon2 import PasswordHasher

        self.store = store
        self.legacy = tuple(legacy.split(":", 1)) if ":" in legacy else None
        self.session_seconds = session_hours * 3600
        self.backoff = backoff or Backoff()
        self.clock = clock
        # argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.07 s a login
        # on a busy 2-core machine where the library's default took 0.56 s, so twenty
        # people logging in at once do not wait out their clients' timeouts. A hash keeps
        # its own parameters: hashes made with others still verify.
        self.hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._dummy: str | None = None
        self._legacy_sessions: dict[str, float] = {}  # the legacy user has no row to refer to

    @property
    def enabled(self) -> bool:
        """Is a login needed (any account, or the legacy KB_AUTH)?"""
        return self.legacy is not None or self.store.has_users()

    # ---- managing users -------------------------------------------------------------------
    def add(self, name: str, municipality: str, role: str, password: str) -> None:
        """Add or change a user. `municipality` is a municipality id (or name) or 'regional'."""
        name = name.strip()
        if not name or ":" in name or len(name) > 100:
            raise ValueError("a user name is 1-100 characters, without ':'")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise ValueError("a password has at least 8 characters")
        self.store.put_user(name, slugify(municipality) or REGIONAL, role,
                            self.hasher.hash(password))  # fmt: skip

    def passwd(self, name: str, password: str) -> None:
        user = self.store.user(name)
        if user is None:
            raise KeyError(f"no user '{name}'")
        self.add(name, user["municipality"], user["role"], password)

    def remove(self, name: str) -> bool:
        return self.store.delete_user(name)

    def users(self) -> list[dict]:
        """Every user: name, municipality, role, created (never a hash)."""
        return self.store.users()

    def viewer(self, name: str | None) -> Viewer | None:
        """The viewer of a user name (the legacy KB_AUTH user is local), or None."""
        if not name:
            return None
        if self.legacy and name == self.legacy[0] and self.store.user(name) is None:
            return Viewer.local(name)
        user = self.store.user(name)
        return Viewer(name, user["municipality"], user["role"]) if user else None

    # ---- logging in -----------------------------------------------------------------------
    def authenticate(self, name: str, password: str, address: str = "") -> Viewer | None:
        """The user's viewer when the password is right, else None (and the next attempt for
        this name and this address waits longer).

        Raises:
            LoginDelayed: a failed attempt was too recent; the password was not checked.
        """
        keys = (f"user:{name}", f"addr:{address}")
        wait = self.backoff.wait(*keys)
        if wait > 0:
            raise LoginDelayed(wait)
        if self._check(name, password):
            self.backoff.succeeded(*keys)
            return self.viewer(name)
        self.backoff.failed(*keys)
        return None

    def _check(self, name: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        if self.legacy and name == self.legacy[0] and self.store.user(name) is None:
            return secrets.compare_digest(password.encode(), self.legacy[1].encode())
        user = self.store.user(name)
        if user is None:
            # The same hashing work for an unknown name: its answer time does not tell.
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_hex(16))
            stored = self._dummy
        else:
            stored = user["password_hash"]
        try:
            return self.hasher.verify(stored, password) and user is not None
        except (VerificationError, InvalidHashError):
            return False

    def open_session(self, name: str) -> str:
        """A new session for a user; the token for the cookie (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        if self.store.user(name) is not None:
            self.store.add_session(_token_hash(token), name, now, now + self.session_seconds)
        else:
            self._legacy_sessions[_token_hash(token)] = now + self.session_seconds
        return token

    def session_viewer(self, token: str | None) -> Viewer | None:
        """The viewer of a session token; None when unknown or expired (an expired one is
        deleted)."""
        if not token:
            return None
        h = _token_hash(token)
        now = self.clock()
        if self.legacy and h in self._legacy_sessions:
            if self._legacy_sessions[h] > now:
                return Viewer.local(self.legacy[0])
            self._legacy_sessions.pop(h, None)
            return None
        found = self.store.session(h)
        if found is None:
            return None
        name, expires = found
        if expires <= now:
            self.store.delete_session(h)
            return None
        return self.viewer(name)

    def close_session(self, token: str | None) -> None:
        if token:
            h = _token_hash(token)
            self._legacy_sessions.pop(h, None)
            self.store.delete_session(h)
