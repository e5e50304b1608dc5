"""E-mail over SMTP: STARTTLS, then login, then the message (UTF-8, Vietnamese subject and body)."""

from __future__ import annotations

import base64
import smtplib
import ssl
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from broadcaster.config import EmailSettings
from broadcaster.notify.base import Outgoing, SendError


class Mail:
    one_endpoint = False

    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password

    def send(self, message: Outgoing) -> None:
        s = self.settings
        # The legacy classes, not EmailMessage: Python's new header folding drops the space between two encoded
        # words ("mất liên lạc" arrived as "mất liênlạc"), Header() encodes each piece whole.
        mail = MIMEText(message.body, "plain", "utf-8")
        mail["Subject"] = Header(message.title, "utf-8")  # type: ignore[assignment]
        mail["From"] = formataddr(parseaddr(s.sender or s.username or "loa-xa@localhost"), "utf-8")
        mail["To"] = message.address
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid("loaxa")
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                smtp.ehlo()
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                    smtp.ehlo()
                if s.username:
                    _login(smtp, s.username, self._password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"SMTP refused {', '.join(exc.recipients)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"SMTP {s.host}:{s.port}: {exc.__class__.__name__}: {exc}") from None


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login encodes the credentials as ASCII; a Vietnamese password goes as UTF-8 in AUTH PLAIN
    (RFC 4616), which servers offer once the connection is encrypted."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    token = base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
    code, answer = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
