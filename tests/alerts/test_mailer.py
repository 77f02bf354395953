"""Sending alert emails to a real SMTP server on loopback (aiosmtpd) and into a maildir."""

from __future__ import annotations

import datetime as dt
import ipaddress
import mailbox
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fixtures.smtp import Collector, free_port

from alerts.content import AlertContent, AlertItem
from alerts.mailer import MaildirMailer, MailError, SmtpMailer, mailer_for
from alerts.render import render_alert

PASSWORD = "hunter2-very-secret"
EVIL = 'Shells <script>alert("x")</script> & co'


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"alerts" and (
        data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def plain_server() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def tls_server(cert: tuple[Path, Path]) -> Iterator[tuple[Collector, int]]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*cert)
    handler = Collector()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def client_ctx(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def message(key: str = "watch-1:st-1:a@example.org") -> EmailMessage:
    content = AlertContent(
        kind="new-story",
        watch_name="DPRK arms",
        recipients=("analyst@example.org",),
        story_id="st-1",
        story_title=EVIL,
        items=(
            AlertItem("a1", EVIL, "https://wire.example/a1", "Global Wire",
                      dt.datetime(2026, 11, 20, tzinfo=dt.UTC), "snippet", 0.3, {}),
        ),
        outlets_count=1,
        new_count=1,
        idempotency_key=key,
        mail_from="Newswatch <alerts@newswatch.example>",
    )
    return render_alert(content, "https://nw.example/u?t=x.y", "https://nw.example").message


def test_smtp_plain_delivers_parseable_message(plain_server: tuple[Collector, int]) -> None:
    handler, port = plain_server
    msg = message()
    SmtpMailer("127.0.0.1", port, "none", timeout=5).send(msg)
    assert len(handler.messages) == 1
    got = handler.messages[0]
    assert handler.envelopes[0].rcpt_tos == ["analyst@example.org"]
    assert got["Message-ID"] == msg["Message-ID"]
    assert got["List-Unsubscribe"] == "<https://nw.example/u?t=x.y>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, text = got.get_body(("html",)), got.get_body(("plain",))
    assert html is not None and text is not None
    html_body, text_body = html.get_content(), text.get_content()
    assert "<script>" not in html_body
    assert "&lt;script&gt;" in html_body
    assert EVIL in text_body


def test_retry_keeps_message_id(plain_server: tuple[Collector, int]) -> None:
    handler, port = plain_server
    mailer = SmtpMailer("127.0.0.1", port, "none", timeout=5)
    mailer.send(message("same-key"))
    mailer.send(message("same-key"))
    mailer.send(message("other-key"))
    ids = [m["Message-ID"] for m in handler.messages]
    assert ids[0] == ids[1] != ids[2]


def test_smtp_starttls_with_login(
    tls_server: tuple[Collector, int], cert: tuple[Path, Path]
) -> None:
    handler, port = tls_server
    mailer = SmtpMailer("127.0.0.1", port, "starttls", "alerts", PASSWORD, 5,
                        ssl_context=client_ctx(cert))
    mailer.send(message())
    assert len(handler.messages) == 1
    assert PASSWORD not in repr(mailer)


def test_wrong_password_is_permanent_and_not_leaked(
    tls_server: tuple[Collector, int], cert: tuple[Path, Path]
) -> None:
    _, port = tls_server
    mailer = SmtpMailer("127.0.0.1", port, "starttls", "alerts", PASSWORD + "x", 5,
                        ssl_context=client_ctx(cert))
    with pytest.raises(MailError) as info:
        mailer.send(message())
    assert not info.value.transient
    assert info.value.code == 535
    assert PASSWORD not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_untrusted_certificate_is_permanent(tls_server: tuple[Collector, int]) -> None:
    _, port = tls_server
    with pytest.raises(MailError, match="certificate") as info:
        SmtpMailer("127.0.0.1", port, "starttls", "alerts", PASSWORD, 5).send(message())
    assert not info.value.transient


def test_starttls_not_offered_is_permanent(plain_server: tuple[Collector, int]) -> None:
    _, port = plain_server
    with pytest.raises(MailError, match="STARTTLS") as info:
        SmtpMailer("127.0.0.1", port, "starttls", timeout=5).send(message())
    assert not info.value.transient


def test_ssl_against_plain_server_fails_cleanly(plain_server: tuple[Collector, int]) -> None:
    handler, port = plain_server
    with pytest.raises(MailError) as info:
        SmtpMailer("127.0.0.1", port, "ssl", "alerts", PASSWORD, 5).send(message())
    assert PASSWORD not in str(info.value)
    assert handler.messages == []


@pytest.mark.parametrize(("reply", "transient"), [("451 Try again later", True),
                                                  ("554 Rejected as spam", False)])
def test_reply_codes(plain_server: tuple[Collector, int], reply: str, transient: bool) -> None:
    handler, port = plain_server
    handler.reply = reply
    with pytest.raises(MailError) as info:
        SmtpMailer("127.0.0.1", port, "none", timeout=5).send(message())
    assert info.value.transient is transient
    assert info.value.code == int(reply[:3])
    assert reply[4:] in str(info.value)


def test_connection_refused_is_transient_without_password() -> None:
    port = free_port()  # nothing listens there
    mailer = SmtpMailer("127.0.0.1", port, "ssl", "alerts", PASSWORD, 5)
    with pytest.raises(MailError) as info:
        mailer.send(message())
    assert info.value.transient
    assert f"127.0.0.1:{port}" in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)


def test_silent_server_times_out_transiently() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(MailError, match="timed out") as info:
            SmtpMailer("127.0.0.1", port, "none", timeout=0.3).send(message())
    assert info.value.transient


def test_login_without_tls_refused_for_remote_hosts() -> None:
    with pytest.raises(MailError, match="without TLS"):
        SmtpMailer("smtp.example.org", 25, "none", "alerts", PASSWORD)
    with pytest.raises(MailError, match="smtp_security"):
        SmtpMailer("smtp.example.org", 25, "tls")  # type: ignore[arg-type]


def test_maildir_receives_message(tmp_path: Path) -> None:
    msg = message()
    MaildirMailer(tmp_path / "maildir").send(msg)
    box = mailbox.Maildir(tmp_path / "maildir", create=False)
    stored = list(box)
    assert len(stored) == 1
    assert stored[0]["Message-ID"] == msg["Message-ID"]
    assert "&lt;script&gt;" in stored[0].as_string()


def test_mailer_for_settings(tmp_path: Path) -> None:
    maildir = mailer_for(SimpleNamespace(home=tmp_path))
    assert isinstance(maildir, MaildirMailer)
    assert maildir.path == tmp_path / "maildir"
    smtp = mailer_for(SimpleNamespace(
        home=tmp_path, smtp_host="smtp.example.org", smtp_security="ssl",
        smtp_user="alerts", smtp_password=PASSWORD,
    ))
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.example.org", 465, "ssl")
    assert PASSWORD not in repr(smtp)
    other = mailer_for(SimpleNamespace(smtp_host="h", smtp_port=2525))
    assert isinstance(other, SmtpMailer) and other.port == 2525
