// Example parameters: copy, fill in, deploy with
//   az deployment group create -g rg-chargeback -f infra/main.bicep -p infra/main.bicepparam
using './main.bicep'

param apimName = 'apim-contoso-ai'
param apimResourceGroupName = 'rg-ai-gateway'
param aoaiApiName = 'azure-openai'
param aoaiBackendId = 'azure-openai'
param attachToApi = true

param eventHubPartitionCount = 4
param eventHubRetentionHours = 168

param adminSshPublicKey = 'ssh-ed25519 AAAA... platform-team'
param consumerImageTag = '0.1.0'
param keyVaultAllowedIpRanges = [
  '198.51.100.0/28'
]
