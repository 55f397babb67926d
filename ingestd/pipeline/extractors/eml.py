"""E-mail (RFC 822 / .eml): a header paragraph (``meta.email_headers``), then the body (plain text
preferred over HTML); every element's section is the subject.

Attachments are listed by name in the header element's meta, not extracted: each would need
its own type detection and limits, which belongs to the pipeline, not to this extractor.
"""

from __future__ import annotations

import dataclasses
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from ingestd.domain.documents import Element
from ingestd.pipeline.extractors._common import clean, collapse_ws, translate_errors
from ingestd.pipeline.extractors.html import elements_from_html
from ingestd.pipeline.extractors.text import paragraphs

_HEADERS = (("subject", "Subject"), ("from", "From"), ("to", "To"), ("cc", "Cc"), ("date", "Date"))
MAX_ATTACHMENT_NAMES = 200


def extract(path: Path) -> list[Element]:
    with translate_errors("the e-mail message"), path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
        assert isinstance(message, EmailMessage)  # guaranteed by policy.default
        return message_elements(message)


def message_elements(message: EmailMessage) -> list[Element]:
    headers = {key: _header(message, key) for key, _label in _HEADERS}
    lines = [f"{label}: {headers[key]}" for key, label in _HEADERS if headers[key]]
    meta: dict[str, Any] = {key: value for key, value in headers.items() if value}
    moment = _date(message)
    if moment is not None:
        meta["date"] = moment  # normalised for filtering; the text keeps the original
    attachments = _attachment_names(message)
    if attachments:
        meta["attachments"] = attachments
        lines.append("Attachments: " + ", ".join(attachments))
    subject = headers["subject"] or None
    elements: list[Element] = []
    if lines:
        meta["email_headers"] = True
        elements.append(
            Element(
                kind="paragraph",
                text="\n".join(lines),
                section=(subject,) if subject else (),
                meta=meta,
            )
        )
    return elements + _body_elements(message, subject)


def _date(message: EmailMessage) -> str | None:
    """The Date header as ISO 8601, when it parses."""
    try:
        header = message.get("date")
    except Exception:  # see _header
        return None
    moment = getattr(header, "datetime", None)
    return moment.isoformat() if moment is not None else None


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # policy.default parses headers lazily and a malformed one can raise
        return ""
    return collapse_ws(str(value)) if value is not None else ""


def _body_elements(message: EmailMessage, subject: str | None) -> list[Element]:
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):  # None, or a bare MIMEPart (never with policy.default)
        return []
    content = _content(part)
    if part.get_content_subtype() == "html":
        # The <title> of an HTML mail is noise next to the subject: only the body is kept.
        return [
            dataclasses.replace(e, section=(subject,) if subject else e.section)
            for e in elements_from_html(content).elements
        ]
    return [
        Element(kind="paragraph", text=text, section=(subject,) if subject else ())
        for text in paragraphs(content.splitlines(keepends=True))
    ]


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _attachment_names(message: EmailMessage) -> list[str]:
    names: list[str] = []
    for part in message.iter_attachments():
        if len(names) >= MAX_ATTACHMENT_NAMES:
            break
        assert isinstance(part, EmailMessage)
        name = part.get_filename() or f"(unnamed {part.get_content_type()})"
        names.append(clean(name))
    return names
