"""Outbound safety for webhooks: the shared guard of :mod:`ingestd.net.outbound`, under the names
the webhook code has always used. Without a policy, private targets are refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestd.domain.errors import ValidationFailed
from ingestd.net.outbound import (
    DENY_PRIVATE,
    OutboundPolicy,
    check_literal,
    check_resolved,
    classify,
    guarded_client,
)
from ingestd.net.outbound import OutboundRefused as UnsafeTarget
from ingestd.net.outbound import check_url as _check_url

if TYPE_CHECKING:
    from ingestd.config_parts import WebhookSettings


def webhook_policy(webhooks: WebhookSettings) -> OutboundPolicy:
    """Webhooks may reach what ``outbound_allow`` allows; ``webhook_allow_private`` allows all."""
    return OutboundPolicy.parse(webhooks.outbound_allow, allow_all=webhooks.allow_private)


ALLOW_HINT = (
    "to let webhooks reach it, list the host or its network in INGESTD_OUTBOUND_ALLOW on the "
    "server (comma-separated, e.g. INGESTD_OUTBOUND_ALLOW=10.0.0.0/8,hooks.internal) and "
    "restart it"
)


def refuse_unsafe_url(url: str, webhooks: WebhookSettings, *, field: str) -> None:
    """The one check of a webhook target, for ``POST /api/v1/webhooks`` and a job's
    ``webhook_url`` alike: :class:`ValidationFailed` (422) naming ``field`` when the URL is not
    http(s) or names an address webhooks may not reach (then the message says how to allow it).
    A host name is judged by its addresses again at every delivery."""
    try:
        check_url_syntax(url)
    except UnsafeTarget as exc:
        raise _refused(field, str(exc)) from exc
    try:
        check_literal(url, webhook_policy(webhooks))
    except UnsafeTarget as exc:
        raise _refused(field, f"{exc}; {ALLOW_HINT}") from exc


def _refused(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {reason}",
        errors=[{"loc": ["body", field], "msg": reason, "type": "url_refused"}],
    )


def check_url_syntax(url: str) -> str:
    """The URL's host, after checking the scheme; raises :class:`UnsafeTarget`."""
    return _check_url(url).hostname or ""


def is_blocked(address: str) -> bool:
    return classify(address) is not None


__all__ = [
    "ALLOW_HINT",
    "DENY_PRIVATE",
    "OutboundPolicy",
    "UnsafeTarget",
    "check_literal",
    "check_resolved",
    "check_url_syntax",
    "guarded_client",
    "is_blocked",
    "refuse_unsafe_url",
    "webhook_policy",
]
