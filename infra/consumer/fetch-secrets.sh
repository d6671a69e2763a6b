#!/usr/bin/env bash
# Export the consumer's secrets from Key Vault into /run/chargeback/secrets.env (mode 0600,
# tmpfs: never on disk), read with the VM's user-assigned managed identity.
#
# Every enabled secret named env-<name> becomes <NAME>=<value>: upper case, dashes to
# underscores (env-smtp-password -> SMTP_PASSWORD). Other secrets are ignored. Run by
# chargeback-config.service before each start of the consumer and the collector, so a rotated
# secret takes effect on the next restart.
set -euo pipefail
# Read from the file apply-config.sh just wrote (not sourced: values are data, not shell).
setting() { sed -n "s/^$1=//p" /etc/chargeback/host.env | tail -n 1; }
KEY_VAULT_NAME=${KEY_VAULT_NAME:-$(setting KEY_VAULT_NAME)}
AZURE_CLIENT_ID=${AZURE_CLIENT_ID:-$(setting AZURE_CLIENT_ID)}
: "${KEY_VAULT_NAME:?}" "${AZURE_CLIENT_ID:?}"

install -d -m 0700 /run/chargeback
imds='http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01'
token=$(curl -fsS --retry 8 --retry-delay 3 --retry-all-errors -H Metadata:true \
  "$imds&resource=https%3A%2F%2Fvault.azure.net&client_id=$AZURE_CLIENT_ID" | jq -r .access_token)
vault="https://$KEY_VAULT_NAME.vault.azure.net"
out=$(mktemp /run/chargeback/secrets.env.XXXXXX)
trap 'rm -f "$out"' EXIT

url="$vault/secrets?api-version=7.4&maxresults=25"
while [ -n "$url" ]; do
  page=$(curl -fsS --retry 5 --retry-all-errors -H "Authorization: Bearer $token" "$url")
  for id in $(jq -r '.value[] | select(.attributes.enabled) | .id' <<<"$page"); do
    name=${id##*/secrets/}
    name=${name%%/*}
    case "$name" in env-*) ;; *) continue ;; esac
    var=$(printf '%s' "${name#env-}" | tr 'a-z-' 'A-Z_')
    value=$(curl -fsS --retry 5 --retry-all-errors -H "Authorization: Bearer $token" \
      "$vault/secrets/$name?api-version=7.4" | jq -r .value)
    if [[ "$value" == *$'\n'* ]]; then
      echo "fetch-secrets: secret $name holds a line break, which an env file cannot carry" >&2
      exit 1
    fi
    printf '%s=%s\n' "$var" "$value" >>"$out"
  done
  url=$(jq -r '.nextLink // empty' <<<"$page")
done

chmod 0600 "$out"
# The collector gets its one variable only, never the alert-channel secrets.
otel=$(mktemp /run/chargeback/otel.env.XXXXXX)
grep '^APPLICATIONINSIGHTS_CONNECTION_STRING=' "$out" >"$otel" || true
chmod 0600 "$otel"
mv -f "$otel" /run/chargeback/otel.env
mv -f "$out" /run/chargeback/secrets.env
trap - EXIT
echo "fetch-secrets: $(wc -l </run/chargeback/secrets.env) secrets from $KEY_VAULT_NAME"
