#!/usr/bin/env bash
# Pull the consumer image. For an Azure Container Registry, log Docker in first with the VM's
# user-assigned identity: an Entra ID token is exchanged for a registry refresh token
# (POST /oauth2/exchange), so no registry password exists anywhere.
set -euo pipefail
: "${CONSUMER_IMAGE:?}" "${AZURE_CLIENT_ID:?}"

if [ -n "${ACR_LOGIN_SERVER:-}" ]; then
  imds='http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01'
  aad=$(curl -fsS --retry 8 --retry-delay 3 --retry-all-errors -H Metadata:true \
    "$imds&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=$AZURE_CLIENT_ID" | jq -r .access_token)
  refresh=$(curl -fsS --retry 5 --retry-all-errors -X POST \
    --data-urlencode grant_type=access_token \
    --data-urlencode "service=$ACR_LOGIN_SERVER" \
    --data-urlencode "access_token=$aad" \
    "https://$ACR_LOGIN_SERVER/oauth2/exchange" | jq -r .refresh_token)
  printf '%s' "$refresh" | docker login "$ACR_LOGIN_SERVER" \
    --username 00000000-0000-0000-0000-000000000000 --password-stdin >/dev/null
fi

docker pull --quiet "$CONSUMER_IMAGE"
