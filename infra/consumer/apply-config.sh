#!/usr/bin/env bash
# Write the consumer's configuration from the VM's userData (set by infra/modules/consumer-vm.bicep,
# read from the instance metadata service). userData, unlike customData, can be changed by a
# redeployment; this runs before every start of the services, so a redeploy followed by
# `systemctl restart chargeback` applies new settings (image tag, hub, configuration).
#
# userData is base64 of {"hostEnv": "...", "consumerEnv": "...", "configToml": "..."}:
#   /etc/chargeback/host.env        read by the units and scripts on the host
#   /etc/chargeback/chargeback.env  the consumer container's environment (no secrets)
#   /etc/chargeback/chargeback.toml the consumer's configuration file
set -euo pipefail

url='http://169.254.169.254/metadata/instance/compute/userData?api-version=2021-01-01&format=text'
data=$(curl -fsS --retry 8 --retry-delay 3 --retry-all-errors -H Metadata:true "$url" | base64 -d)
if ! jq -e 'has("hostEnv") and has("consumerEnv") and has("configToml")' >/dev/null <<<"$data"; then
  echo "apply-config: the VM's userData is not the expected document" >&2
  exit 1
fi

install -d -m 0755 /etc/chargeback
for pair in hostEnv:host.env consumerEnv:chargeback.env configToml:chargeback.toml; do
  key=${pair%%:*}
  file=/etc/chargeback/${pair#*:}
  tmp=$(mktemp "$file.XXXXXX")
  jq -j --arg k "$key" '.[$k]' <<<"$data" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
done
echo "apply-config: wrote host.env, chargeback.env, chargeback.toml from userData"
