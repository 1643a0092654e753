"""Key rings: one list of keys per service and purpose, newest first, so that keys can rotate.

A ring's keys come from `TANDEM_<SERVICE>_<PURPOSE>_KEYS` (comma-separated, newest first) or
`TANDEM_<SERVICE>_<PURPOSE>_KEYS_FILE` (one key a line), else from a file generated under
`var/keys/<service>/<purpose>.keys` (mode 0600, created atomically) on first use. Every key is
32 random bytes in URL-safe base64 (the Fernet key format).

- `FernetRing` encrypts with the newest key and decrypts with any (MultiFernet).
- `HmacRing` hashes with the newest key and tags the hash with that key's id, so a check costs
  one HMAC whichever key made the hash. Tokens too short to carry an id are checked against each
  key in turn.

Rings also accept the pre-ring keys derived from SECRET_KEY ("legacy") for reading and checking
only, unless TANDEM_LEGACY_KEYS is off, so that an upgrade breaks no stored secret, token or link.
A process loads its rings once; when a value names a key it does not know (another process
rotated), it re-reads the keys once before refusing. See docs/security.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tandem.core.env import EnvError, env_text

HASH_ALGORITHM = "hmac-sha256"
KEY_ID_LENGTH = 8
REREAD_SECONDS = 30
SERVICES = ("crm", "engagement")
# Every ring of each service: purpose -> "hmac" or "fernet".
PURPOSES: dict[str, dict[str, str]] = {
    "crm": {
        "client_secret_hash": "hmac",  # Connected App consumer secrets, checked at /token
        "client_secret": "fernet",  # the same secrets, read back to sign token responses
        "security_token_hash": "hmac",  # users' security tokens
    },
    "engagement": {
        "connect_secrets": "fernet",  # legacy CRM passwords + tokens, PKCE verifiers
        "tracking": "hmac",  # open/click/unsubscribe links in mailed messages
    },
}


class KeyConfigError(EnvError):
    """Keys that cannot be used; the message never contains a key."""

    def __init__(self, name: str, problem: str) -> None:
        ValueError.__init__(self, f"{name}: {problem}")
        self.name = name


@dataclass(frozen=True)
class KeySource:
    """Where one ring's keys come from."""

    service: str
    purpose: str

    @property
    def env_name(self) -> str:
        return f"TANDEM_{self.service.upper()}_{self.purpose.upper()}_KEYS"

    def generated_file(self, var_dir: Path) -> Path:
        return var_dir / "keys" / self.service / f"{self.purpose}.keys"


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe base64."""
    return Fernet.generate_key().decode("ascii")


def key_bytes(text: str, name: str) -> bytes:
    """The 32 bytes of a key, or a KeyConfigError naming where it came from."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32 or len(text) != 44:
        raise KeyConfigError(
            name, "each key must be 32 bytes in URL-safe base64 (`tandem keys new` makes one)"
        )
    return raw


def key_id(raw: bytes) -> str:
    """A short public name for a key (stored beside each hash it made)."""
    digest = hashlib.sha256(b"tandem.key-id:" + raw).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:KEY_ID_LENGTH]


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


def configured_keys(
    source: KeySource, environ: Mapping[str, str] | None = None
) -> list[str] | None:
    """The keys set in the environment (or the file it names), or None when neither is set."""
    value = env_text(source.env_name, environ=environ)
    if value is None:
        return None
    keys = _split(value)
    if not keys:
        raise KeyConfigError(source.env_name, "names no key")
    return keys


def _write_atomically(path: Path, text: str, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        if replace:
            os.replace(draft, path)
        else:
            # link() is atomic and refuses to overwrite: of two processes starting at once,
            # exactly one key file wins and both read that one.
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def load_keys(
    source: KeySource, var_dir: Path, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The ring's keys, newest first: configured, else generated on first use."""
    keys = configured_keys(source, environ)
    if keys is None:
        path = source.generated_file(var_dir)
        if not path.exists():
            _write_atomically(path, new_key() + "\n", replace=False)
        keys = _split(path.read_text(encoding="utf-8"))
        name = str(path)
    else:
        name = source.env_name
    for key in keys:
        key_bytes(key, name)
    return keys


def writable_key_file(
    source: KeySource, var_dir: Path, environ: Mapping[str, str] | None = None
) -> Path:
    """The file a rotation prepends to: the generated one, or the one _KEYS_FILE names."""
    env = os.environ if environ is None else environ
    if source.env_name in env:
        raise KeyConfigError(
            source.env_name,
            "is set in the environment: put a new key first in it, restart, then run "
            "`tandem keys rotate --resume`",
        )
    named = env.get(f"{source.env_name}_FILE")
    return Path(named) if named else source.generated_file(var_dir)


def prepend_key(source: KeySource, var_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """Add a new newest key to the ring's file (atomically, mode 0600); return its id."""
    path = writable_key_file(source, var_dir, environ)
    current = load_keys(source, var_dir, environ)
    fresh = new_key()
    _write_atomically(path, "\n".join([fresh, *current]) + "\n", replace=True)
    return key_id(key_bytes(fresh, str(path)))


# --- Rings ---------------------------------------------------------------------------------

Loader = Callable[[], list[str]]
LegacyKeys = Callable[[], list[bytes]]
_RINGS: list[_Ring] = []


class _Ring:
    def __init__(self, loader: Loader, legacy: LegacyKeys | None = None) -> None:
        self._loader = loader
        self._legacy = legacy or (lambda: [])
        self._loaded, self._loaded_at = False, 0.0
        _RINGS.append(self)

    def refresh(self) -> None:
        """Re-read the keys on next use (after a rotation by another process, or in tests)."""
        self._loaded = False

    def _ensure(self) -> None:
        if not self._loaded:
            self._load([key_bytes(key, "key ring") for key in self._loader()], self._legacy())
            self._loaded, self._loaded_at = True, time.monotonic()

    def _load(self, keys: list[bytes], legacy: list[bytes]) -> None:
        raise NotImplementedError


def refresh_all() -> None:
    """Make every ring re-read its keys (tests, and after `tandem keys rotate` in-process)."""
    for ring in _RINGS:
        ring.refresh()


class HmacRing(_Ring):
    """Keyed hashes: written with the newest key, checked with the key the hash names."""

    def _load(self, keys: list[bytes], legacy: list[bytes]) -> None:
        # hmac objects keyed once; each check copies one (the key pads are precomputed).
        self._macs = {key_id(key): hmac.new(key, digestmod=hashlib.sha256) for key in keys}
        self._newest = key_id(keys[0])
        self._legacy_macs = [hmac.new(key, digestmod=hashlib.sha256) for key in legacy]
        self._all = [*self._macs.values(), *self._legacy_macs]

    @property
    def newest_id(self) -> str:
        self._ensure()
        return self._newest

    def digest(self, message: bytes) -> bytes:
        """The newest key's HMAC-SHA256 of `message` (for tokens with no room for a key id)."""
        self._ensure()
        mac = self._macs[self._newest].copy()
        mac.update(message)
        return mac.digest()

    def digests(self, message: bytes) -> Iterable[bytes]:
        """The HMAC of `message` under each key, newest first, legacy last (lazily).

        These tokens come from anyone (links), so a miss re-reads the keys at most once in
        REREAD_SECONDS rather than each time."""
        self._ensure()
        yield from self._each(message)
        if time.monotonic() - self._loaded_at >= REREAD_SECONDS:
            self.refresh()
            self._ensure()
            yield from self._each(message)

    def _each(self, message: bytes) -> Iterable[bytes]:
        for template in self._all:
            mac = template.copy()
            mac.update(message)
            yield mac.digest()

    def hash(self, value: str) -> str:
        """`hmac-sha256$<key id>$<hex>` of `value` under the newest key."""
        self._ensure()
        mac = self._macs[self._newest].copy()
        mac.update(value.encode("utf-8"))
        return f"{HASH_ALGORITHM}${self._newest}${mac.hexdigest()}"

    def hash_key_id(self, stored: str) -> str | None:
        """The id of the key a stored hash names (None for a legacy hash)."""
        parts = stored.split("$")
        return parts[1] if len(parts) == 3 else None

    def matches(self, value: str, stored: str, *, legacy_prefix: str | None = None) -> bool:
        """True when `stored` is this ring's hash of `value`: one HMAC with the named key.

        A hash without a key id (made before rings) is checked against the legacy keys,
        stored either bare or after `legacy_prefix`.
        """
        if not value or not stored:
            return False
        parts = stored.split("$")
        if len(parts) == 3 and parts[0] == HASH_ALGORITHM:
            return self._matches_named(value, parts[1], parts[2])
        legacy_hex = stored
        if legacy_prefix is not None:
            if not stored.startswith(legacy_prefix):
                return False
            legacy_hex = stored[len(legacy_prefix) :]
        self._ensure()
        for template in self._legacy_macs:
            mac = template.copy()
            mac.update(value.encode("utf-8"))
            if hmac.compare_digest(mac.hexdigest(), legacy_hex):
                return True
        return False

    def _matches_named(self, value: str, kid: str, hex_digest: str) -> bool:
        self._ensure()
        template = self._macs.get(kid)
        if template is None:  # made by a key this process has not loaded yet
            self.refresh()
            self._ensure()
            template = self._macs.get(kid)
            if template is None:
                return False
        mac = template.copy()
        mac.update(value.encode("utf-8"))
        return hmac.compare_digest(mac.hexdigest(), hex_digest)


class FernetRing(_Ring):
    """Encryption at rest: the newest key encrypts, any key decrypts (MultiFernet)."""

    def _load(self, keys: list[bytes], legacy: list[bytes]) -> None:
        fernets = [Fernet(base64.urlsafe_b64encode(key)) for key in [*keys, *legacy]]
        self._multi = MultiFernet(fernets)
        self._newest = fernets[0]

    def encrypt(self, value: str) -> str:
        self._ensure()
        return self._multi.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain text; raises InvalidToken when no key (even after a re-read) opens it."""
        self._ensure()
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError, ValueError):
            self.refresh()
            self._ensure()
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (UnicodeEncodeError, ValueError):
            raise InvalidToken from None

    def is_current(self, token: str) -> bool:
        """True when `token` was encrypted with the newest key (nothing to re-encrypt)."""
        self._ensure()
        try:
            self._newest.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return False
        return True


# --- The rings a process uses, and the start-up check ------------------------------------


def service_loader(service: str, purpose: str) -> Loader:
    """Read `service`'s `purpose` keys from the environment or var/keys (settings' VAR_DIR)."""

    def load() -> list[str]:
        from django.conf import settings

        return load_keys(KeySource(service, purpose), Path(settings.VAR_DIR))

    return load


def key_problems(
    service: str,
    var_dir: Path,
    *,
    secret_key: str,
    environ: Mapping[str, str] | None = None,
) -> list[KeyConfigError]:
    """Why this service's keys are unfit for production: shared between purposes or services,
    or equal to (or derived like the pre-ring keys from) SECRET_KEY."""
    seen: dict[str, str] = {}
    problems: list[KeyConfigError] = []
    legacy = {key for key in legacy_derivations(secret_key)}
    for other in SERVICES:
        for purpose in PURPOSES[other]:
            source = KeySource(other, purpose)
            if other == service:
                keys = load_keys(source, var_dir, environ)
            else:  # the other service's keys, when this host holds them
                keys = configured_keys(source, environ) or _existing(source, var_dir)
            for key in keys:
                raw = key_bytes(key, source.env_name)
                if raw in legacy or key == secret_key:
                    problems.append(KeyConfigError(source.env_name, "is derived from SECRET_KEY"))
                elif key in seen and seen[key] != source.env_name:
                    problems.append(
                        KeyConfigError(source.env_name, f"shares a key with {seen[key]}")
                    )
                seen.setdefault(key, source.env_name)
    return problems


def _existing(source: KeySource, var_dir: Path) -> list[str]:
    path = source.generated_file(var_dir)
    return _split(path.read_text(encoding="utf-8")) if path.exists() else []


def legacy_derivations(secret_key: str, oauth_secret_key: str = "") -> list[bytes]:
    """Every key the services derived from SECRET_KEY before key rings (to recognise them)."""
    base = (oauth_secret_key or secret_key).encode()
    return [
        hmac.new(base, b"tandem.crm.oauth.client-secret-hash", hashlib.sha256).digest(),
        hmac.new(base, b"tandem.crm.oauth.fernet", hashlib.sha256).digest(),
        hashlib.sha256(f"connect-secrets:{secret_key}".encode()).digest(),
        hashlib.sha256(b"tandem.engagement.sends.tracking:" + secret_key.encode()).digest(),
    ]


def refuse_unfit_keys(service: str, var_dir: Path, *, debug: bool, secret_key: str) -> None:
    """At start-up: with DEBUG off, raise the first problem of `key_problems` (exit 2)."""
    for source in (KeySource(service, purpose) for purpose in PURPOSES[service]):
        load_keys(source, var_dir)  # a malformed key is refused even in DEBUG
    if debug:
        return
    problems = key_problems(service, var_dir, secret_key=secret_key)
    if problems:
        raise problems[0]
