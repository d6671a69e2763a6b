// Container registry for the consumer image. Entra ID only (no admin user, no anonymous pull);
// the consumer VM pulls with its user-assigned identity (AcrPull).

param location string
param registryName string
param pullerPrincipalId string
param workspaceId string
param tags object

var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  // checkov:skip=CKV_AZURE_139:Pulls and pushes need an Entra ID token (no admin user, no anonymous pull); a private-only registry needs the Premium tier plus a private endpoint and DNS zone, a platform decision (see infra/README.md).
  // checkov:skip=CKV_AZURE_166:Quarantine is a Premium-tier preview feature; the registry holds one image built by your own pipeline from this repository.
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    networkRuleBypassOptions: 'AzureServices'
  }
}

resource pullRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullerPrincipalId, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: pullerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'The chargeback consumer VM pulls its image.'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: registry
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output loginServer string = registry.properties.loginServer
