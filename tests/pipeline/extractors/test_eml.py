from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from ingestd.pipeline.extractors import extract

EML = "message/rfc822"


def _base_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Quarterly numbers — final"
    message["From"] = "Zoë Example <zoe@example.com>"
    message["To"] = "team@example.com"
    message["Date"] = format_datetime(dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC))
    return message


def test_plain_text_mail_with_attachment(tmp_path: Path) -> None:
    message = _base_message()
    message.set_content("Hi team,\n\nThe numbers are attached.\n\nCheers,\nZoë\n")
    message.add_alternative("<p>HTML version should not win</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="numbers.pdf"
    )
    path = tmp_path / "mail.eml"
    path.write_bytes(message.as_bytes())

    elements = extract(path, EML)

    header, *body = elements
    assert header.kind == "paragraph" and header.meta["email_headers"] is True
    assert header.text == (
        "Subject: Quarterly numbers — final\n"
        "From: Zoë Example <zoe@example.com>\n"
        "To: team@example.com\n"
        "Date: Fri, 01 Mar 2024 09:30:00 +0000\n"
        "Attachments: numbers.pdf"
    )
    assert header.meta["subject"] == "Quarterly numbers — final"
    assert header.meta["from"] == "Zoë Example <zoe@example.com>"
    assert header.meta["date"] == "2024-03-01T09:30:00+00:00"
    assert header.meta["attachments"] == ["numbers.pdf"]
    assert [(e.kind, e.text) for e in body] == [
        ("paragraph", "Hi team,"),
        ("paragraph", "The numbers are attached."),
        ("paragraph", "Cheers,\nZoë"),
    ]
    assert all(e.section == ("Quarterly numbers — final",) for e in elements)


def test_html_only_mail_uses_the_html_extractor(tmp_path: Path) -> None:
    message = _base_message()
    message.set_content(
        "<html><head><title>ignored</title><style>p{}</style></head><body>"
        "<h1>Update</h1><p>All <b>good</b>.</p><ul><li>one</li></ul></body></html>",
        subtype="html",
    )
    path = tmp_path / "html.eml"
    path.write_bytes(message.as_bytes())

    elements = extract(path, EML)

    subject = ("Quarterly numbers — final",)
    assert [(e.kind, e.text, e.section) for e in elements[1:]] == [
        ("heading", "Update", subject),
        ("paragraph", "All good.", subject),
        ("list_item", "one", subject),
    ]


def test_latin1_body_and_unknown_charset(tmp_path: Path) -> None:
    raw = (
        b"From: a@example.com\r\nSubject: =?iso-8859-1?q?Caf=E9?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown-charset\r\n\r\nCaf\xc3\xa9 au lait\r\n"
    )
    path = tmp_path / "odd.eml"
    path.write_bytes(raw)
    elements = extract(path, EML)
    assert elements[0].meta["subject"] == "Café"
    assert elements[1].text == "Café au lait"


def test_empty_message(tmp_path: Path) -> None:
    path = tmp_path / "empty.eml"
    path.write_bytes(b"")
    assert extract(path, EML) == []
