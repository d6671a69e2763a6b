"""A real SMTP server for tests/alerts_smtp.rs: aiosmtpd with STARTTLS required and AUTH
(PLAIN/LOGIN, one user), saving each accepted message to OUT_DIR/<n>.eml.

usage: smtp_server.py PORT CERT KEY OUT_DIR USER PASSWORD
Prints "ready" once listening."""

import ssl
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, cert, key, out_dir, user, password = sys.argv[1:7]
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)


class Save:
    async def handle_DATA(self, server, session, envelope):
        n = len(list(out.glob("*.eml")))
        tmp = out / f"{n}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(out / f"{n}.eml")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Save(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
