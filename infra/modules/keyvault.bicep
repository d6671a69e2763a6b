// Key Vault for the consumer's secrets: alert-channel credentials (webhook signing secrets,
// Slack/Teams webhook URLs, SMTP password) and the Application Insights connection string.
// RBAC only, purge protection on, network closed to all but the consumer subnet, the listed
// operator IPs and trusted Azure services.
//
// Convention: a secret named env-<name> reaches the consumer container as the environment
// variable <NAME> (upper case, dashes to underscores), e.g. env-smtp-password -> SMTP_PASSWORD.
// infra/consumer/fetch-secrets.sh does the mapping at every service start.

param location string
param vaultName string
param allowedIpRanges array
param allowedSubnetId string
param readerPrincipalId string
param appInsightsName string
param workspaceId string
param tags object

var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: [for range in allowedIpRanges: {
        value: range
      }]
      virtualNetworkRules: [
        {
          id: allowedSubnetId
          ignoreMissingVnetServiceEndpoint: false
        }
      ]
    }
  }
}

resource readerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'The chargeback consumer VM reads its env-* secrets at service start.'
  }
}

resource appInsightsConnection 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'env-applicationinsights-connection-string'
  // checkov:skip=CKV_AZURE_41:An ingestion connection string has no lifetime of its own; an expiry would silently stop telemetry. It is rewritten on every deployment.
  properties: {
    contentType: 'text/plain'
    value: appInsights.properties.ConnectionString
    attributes: {
      enabled: true
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
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

output vaultName string = vault.name
