"""Sending email: over SMTP, or into a local maildir when no SMTP host is configured.

Every failure is a :class:`MailError` whose ``transient`` says whether a retry may succeed
(connection refused, timeouts, dropped connections, 4xx replies) or not (5xx replies, TLS
or authentication problems). The SMTP password never appears in logs or error messages.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol

from core.errors import NewswatchError

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
SECURITIES: tuple[str, ...] = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class MailError(NewswatchError):
    """Sending failed. ``transient``: retrying later may succeed. ``code``: SMTP reply code."""

    def __init__(self, message: str, *, transient: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


class Mailer(Protocol):
    def send(self, msg: EmailMessage) -> None: ...

    def close(self) -> None:
        """Release any connection kept between messages."""
        ...


class SmtpMailer:
    """Send through an SMTP server, keeping one connection open across the messages of a
    sending pass (``close`` ends it): a new connection (and TLS handshake) per message
    cost most of the alert stage's time."""

    def __init__(
        self,
        host: str,
        port: int = 0,
        security: Security = "starttls",
        user: str = "",
        password: str = "",
        timeout: float = 30.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITIES:
            raise MailError(
                f"smtp_security must be one of {', '.join(SECURITIES)}, not {security!r}",
                transient=False,
            )
        if user and security == "none" and not _is_loopback(host):
            raise MailError(
                f"refusing to log in to {host} without TLS: set smtp_security to starttls or ssl",
                transient=False,
            )
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.user = user
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"user={self.user!r})"
        )

    def send(self, msg: EmailMessage) -> None:
        where = f"SMTP server {self.host}:{self.port}"
        try:
            refused = self._send(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            transient = bool(codes) and all(400 <= c < 500 for c in codes)
            detail = "; ".join(
                f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in exc.recipients.items()
            )
            error = MailError(
                self._scrub(f"{where} refused every recipient ({detail})"),
                transient=transient,
                code=codes[0] if codes else None,
            )
        except smtplib.SMTPNotSupportedError as exc:
            error = MailError(self._scrub(f"{where}: {exc}"), transient=False)
        except smtplib.SMTPResponseException as exc:
            what = "login failed" if isinstance(exc, smtplib.SMTPAuthenticationError) else "replied"
            error = MailError(
                self._scrub(f"{where} {what}: {exc.smtp_code} {_text(exc.smtp_error)}"),
                transient=400 <= exc.smtp_code < 500,
                code=exc.smtp_code,
            )
        except smtplib.SMTPServerDisconnected as exc:
            error = MailError(self._scrub(f"{where} closed the connection: {exc}"), transient=True)
        except smtplib.SMTPException as exc:
            error = MailError(self._scrub(f"{where}: {exc}"), transient=False)
        except ssl.SSLCertVerificationError as exc:
            error = MailError(
                self._scrub(f"{where}: TLS certificate not trusted ({exc.verify_message})"),
                transient=False,
            )
        except ssl.SSLEOFError:
            error = MailError(f"{where} closed the connection during TLS", transient=True)
        except ssl.SSLError as exc:
            error = MailError(
                self._scrub(f"{where}: TLS handshake failed ({exc.reason or exc})"),
                transient=False,
            )
        except TimeoutError:
            error = MailError(f"{where} timed out after {self.timeout:g} s", transient=True)
        except OSError as exc:  # refused, unreachable, DNS failure, reset
            error = MailError(
                self._scrub(f"{where} unreachable: {exc.strerror or exc}"), transient=True
            )
        else:
            if refused:
                log.warning(
                    "%s refused some recipients of %s: %s",
                    where,
                    msg.get("Message-ID", "?"),
                    ", ".join(f"{r} ({code})" for r, (code, _) in refused.items()),
                )
            return
        self.close()  # after an error the session's state is unknown: the next message starts anew
        # raised outside the except blocks and without a cause, so nothing the smtplib
        # exception carried (it never holds the password, but a server may echo anything)
        # is chained into tracebacks
        raise error

    def _send(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send on the open connection, opening one when there is none. A connection the
        server has dropped since the last message (idle timeout) is replaced once."""
        reused = self._smtp is not None
        try:
            return self._connection().send_message(msg)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise
        return self._connection().send_message(msg)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())  # never falls back to plain text
                if self.user:
                    smtp.login(self.user, self._password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        """End the session (QUIT); the next message opens a new one."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _context(self) -> ssl.SSLContext:
        """The TLS context, made once: loading the system's CA certificates takes ~30 ms,
        which used to be paid for every message (and even without TLS)."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _scrub(self, text: str) -> str:
        if self._password and len(self._password) >= 3:
            text = text.replace(self._password, "***")
        return text


class MaildirMailer:
    """Deliver into a local maildir (``new/``), for development and single-machine use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"MaildirMailer(path={str(self.path)!r})"

    def close(self) -> None:
        pass

    def send(self, msg: EmailMessage) -> None:
        try:
            mailbox.Maildir(self.path, create=True).add(msg)
        except OSError as exc:
            raise MailError(
                f"cannot write to maildir {self.path}: {exc.strerror or exc}",
                transient=exc.errno in (errno.ENOSPC, errno.EAGAIN, errno.EDQUOT),
            ) from exc


def mailer_for(settings: Any) -> Mailer:
    """SMTP when ``smtp_host`` is set, else the maildir ``maildir_path`` (default home/maildir)."""
    host = getattr(settings, "smtp_host", "") or ""
    if host:
        return SmtpMailer(
            host,
            int(getattr(settings, "smtp_port", 0) or 0),
            getattr(settings, "smtp_security", "starttls") or "starttls",
            getattr(settings, "smtp_user", "") or "",
            getattr(settings, "smtp_password", "") or "",
            float(getattr(settings, "smtp_timeout", 30.0) or 30.0),
        )
    path = getattr(settings, "maildir_path", None)
    if not path:
        path = Path(getattr(settings, "home", ".newswatch")) / "maildir"
    return MaildirMailer(path)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
