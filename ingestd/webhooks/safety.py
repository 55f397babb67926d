"""Outbound safety for webhooks: the shared guard of :mod:`ingestd.net.outbound`, under the names
the webhook code has always used. Without a policy, private targets are refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def check_url_syntax(url: str) -> str:
    """The URL's host, after checking the scheme; raises :class:`UnsafeTarget`."""
    return _check_url(url).hostname or ""


def is_blocked(address: str) -> bool:
    return classify(address) is not None


__all__ = [
    "DENY_PRIVATE",
    "OutboundPolicy",
    "UnsafeTarget",
    "check_literal",
    "check_resolved",
    "check_url_syntax",
    "guarded_client",
    "is_blocked",
    "webhook_policy",
]
