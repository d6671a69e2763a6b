#!/usr/bin/env bash
# Set up what tests/alerts_smtp.rs needs: a real SMTP server (aiosmtpd from PyPI) in a venv,
# and a private CA with a "localhost" certificate for STARTTLS. Idempotent; everything goes
# under target/smtp-test/ (the test finds it there).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/smtp-test
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6'
fi
if [ ! -f "$dir/server.pem" ]; then
    # A CA and a leaf signed by it: rustls refuses a self-signed CA certificate as a server's.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=chargeback test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 3650 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
fi
echo "smtp test server ready in $dir"
