"""Who is calling: API keys, JWTs, signed customer and guest tokens, or a staff login.

Every credential resolves to a `Principal` with roles; `sessions_app.permissions` decides what
the roles may do. Credentials travel as `Authorization: Bearer <token>` (or `X-API-Key` for an
API key); browsers' WebSockets cannot set headers, so there the token comes as `?token=`.

- API keys (`pk_…`) are created and revoked in admin; only their SHA-256 is stored.
- JWTs are HS256 with the shared secret PARLANT_JWT_SECRET; the `role` claim is one of app,
  operator, editor, admin or customer (then `sub` is the customer id); `exp` is required.
- Customer and guest tokens (`ct.…`) are signed by Django with SECRET_KEY and expire after
  PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS; the widget presents them.
- Staff log in to admin; their Django permissions give their roles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import jwt
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.utils import timezone
from rest_framework import authentication, exceptions

from parlant_site.ids import new_id
from sessions_app.models import API_KEY_PREFIX, ApiKey, Customer, hash_api_key
from sessions_app.permissions import Principal, Role

CUSTOMER_TOKEN_PREFIX = "ct."
_TOKEN_SALT = "parlant.customer-token"
_JWT_ROLES = {"app": Role.APP, "operator": Role.OPERATOR, "editor": Role.EDITOR,
              "admin": Role.ADMIN, "customer": Role.CUSTOMER,
              "monitoring": Role.MONITORING}
# Refreshing last_used_at on every request would write a row per call; once a minute is enough
# to tell a live key from a forgotten one.
API_KEY_USAGE_RESOLUTION_SECONDS = 60


class InvalidCredentials(Exception):
    """A credential was presented but is wrong, expired or revoked (answered with 401)."""


def issue_customer_token(customer_id: str) -> str:
    """A signed, expiring token that lets its holder act as this customer."""
    return CUSTOMER_TOKEN_PREFIX + signing.dumps({"c": customer_id}, salt=_TOKEN_SALT)


def issue_guest_token(guest_id: str) -> str:
    """A signed, expiring token for an anonymous visitor's own guest sessions."""
    return CUSTOMER_TOKEN_PREFIX + signing.dumps({"g": guest_id}, salt=_TOKEN_SALT)


def new_guest_id() -> str:
    return new_id() + new_id()


def staff_roles(user: Any) -> frozenset[Role]:
    """A logged-in user's roles, from Django's own permissions (managed in admin)."""
    if not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset({Role.ADMIN})
    roles = set()
    if user.has_perm("sessions_app.operate_session"):
        roles.add(Role.OPERATOR)
    if user.has_perm("behavior.change_agent"):
        roles.add(Role.EDITOR)
    return frozenset(roles)


def _client_address(meta_or_headers: dict[str, str], remote_addr: str) -> str:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = meta_or_headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return remote_addr or "unknown"


def anonymous_principal(address: str) -> Principal:
    return Principal(roles=frozenset({Role.ANONYMOUS}), client_key=f"ip:{address}")


def _from_api_key(raw_key: str) -> Principal:
    api_key = ApiKey.objects.active().filter(key_hash=hash_api_key(raw_key)).first()
    if api_key is None:
        raise InvalidCredentials("Unknown or revoked API key.")
    now = timezone.now()
    if api_key.last_used_at is None or (
        (now - api_key.last_used_at).total_seconds() > API_KEY_USAGE_RESOLUTION_SECONDS
    ):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return Principal(roles=frozenset({Role(api_key.role)}), client_key=f"key:{api_key.pk}")


def _from_signed_token(token: str) -> Principal:
    try:
        claims = signing.loads(
            token.removeprefix(CUSTOMER_TOKEN_PREFIX), salt=_TOKEN_SALT,
            max_age=settings.PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS,
        )
    except signing.SignatureExpired:
        raise InvalidCredentials("The customer token has expired.") from None
    except signing.BadSignature:
        raise InvalidCredentials("The customer token is not valid.") from None
    if "c" in claims:
        return Principal(
            roles=frozenset({Role.CUSTOMER}), client_key=f"customer:{claims['c']}",
            customer_id=claims["c"],
        )
    return Principal(
        roles=frozenset({Role.GUEST}), client_key=f"guest:{claims['g']}", guest_id=claims["g"]
    )


def _from_jwt(token: str) -> Principal:
    if not settings.PARLANT_JWT_SECRET:
        raise InvalidCredentials("JWTs are not accepted: PARLANT_JWT_SECRET is not set.")
    try:
        claims = jwt.decode(
            token, settings.PARLANT_JWT_SECRET, algorithms=["HS256"],
            options={"require": ["exp", "sub"]},
            audience=settings.PARLANT_JWT_AUDIENCE or None,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidCredentials("The JWT has expired.") from None
    except jwt.InvalidTokenError as error:
        raise InvalidCredentials(f"The JWT is not valid: {error}") from None
    role = _JWT_ROLES.get(str(claims.get("role", "app")))
    if role is None:
        raise InvalidCredentials(f"Unknown role in JWT: {claims.get('role')!r}.")
    subject = str(claims["sub"])
    if role == Role.CUSTOMER:
        if not Customer.objects.filter(pk=subject).exists():
            raise InvalidCredentials(f"Unknown customer {subject!r} in JWT.")
        return Principal(roles=frozenset({role}), client_key=f"customer:{subject}",
                         customer_id=subject)
    return Principal(roles=frozenset({role}), client_key=f"jwt:{subject}")


def principal_from_token(token: str) -> Principal:
    if token.startswith(API_KEY_PREFIX):
        return _from_api_key(token)
    if token.startswith(CUSTOMER_TOKEN_PREFIX):
        return _from_signed_token(token)
    if token.count(".") == 2:
        return _from_jwt(token)
    raise InvalidCredentials("Unrecognised credentials.")


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token from `Authorization: Bearer …` or `X-API-Key`, given lower-cased headers."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def resolve_principal(*, headers: dict[str, str], user: Any, remote_addr: str,
                      token: str | None = None) -> Principal:
    """Whoever presents these credentials. Raises InvalidCredentials for a bad one."""
    token = token or bearer_token(headers)
    if token:
        return principal_from_token(token)
    if user is not None and user.is_authenticated:
        roles = staff_roles(user) or frozenset({Role.ANONYMOUS})
        return Principal(roles=roles, client_key=f"user:{user.pk}", user=user)
    return anonymous_principal(_client_address(headers, remote_addr))


def principal_of(request: Any) -> Principal:
    """The principal of a REST framework request or a plain Django request (cached on it)."""
    django_request = getattr(request, "_request", request)
    cached = getattr(django_request, "parlant_principal", None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, Principal):
        principal = auth
    else:
        headers = {key.lower(): value for key, value in django_request.headers.items()}
        principal = resolve_principal(
            headers=headers, user=getattr(django_request, "user", None),
            remote_addr=django_request.META.get("REMOTE_ADDR", ""),
        )
    django_request.parlant_principal = principal
    return principal


def principal_from_scope(scope: dict) -> Principal:
    """The principal of a WebSocket connection; a bad token makes it anonymous."""
    headers = {key.decode().lower(): value.decode() for key, value in scope.get("headers", [])}
    query = parse_qs(scope.get("query_string", b"").decode())
    token = (query.get("token") or [None])[0]
    client = scope.get("client") or ("", 0)
    try:
        return resolve_principal(
            headers=headers, user=scope.get("user"), remote_addr=client[0], token=token
        )
    except InvalidCredentials:
        return anonymous_principal(client[0] or "unknown")


class TokenAuthentication(authentication.BaseAuthentication):
    """REST framework authentication for bearer tokens; staff logins go to SessionAuthentication."""

    def authenticate(self, request):
        headers = {key.lower(): value for key, value in request._request.headers.items()}
        token = bearer_token(headers)
        if not token:
            return None
        try:
            principal = principal_from_token(token)
        except InvalidCredentials as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        return AnonymousUser(), principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
