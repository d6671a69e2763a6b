// Event Hubs: the namespace (Entra ID only, TLS 1.2+), the usage hub, the chargeback consumer
// group, and the two data-plane roles: API Management sends, the consumer receives. Both roles
// are scoped to the hub, not the namespace.

param location string
param namespaceName string
param eventHubName string
param consumerGroupName string
param partitionCount int
param retentionHours int
param throughputUnits int
param maxThroughputUnits int
param restrictNetwork bool
param allowedIpRanges array
param allowedSubnetIds array
param senderPrincipalId string
param receiverPrincipalId string
param workspaceId string
param tags object

var dataSenderRoleId = '2b629674-e913-4c01-ae53-ef4638d8f975' // Azure Event Hubs Data Sender
var dataReceiverRoleId = 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde' // Azure Event Hubs Data Receiver

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: true
    maximumThroughputUnits: max(maxThroughputUnits, throughputUnits)
  }
}

resource networkRules 'Microsoft.EventHub/namespaces/networkRuleSets@2024-01-01' = {
  parent: namespace
  name: 'default'
  properties: {
    publicNetworkAccess: 'Enabled'
    defaultAction: restrictNetwork ? 'Deny' : 'Allow'
    trustedServiceAccessEnabled: true
    ipRules: [for range in allowedIpRanges: {
      ipMask: range
      action: 'Allow'
    }]
    virtualNetworkRules: [for subnetId in allowedSubnetIds: {
      subnet: {
        id: subnetId
      }
      ignoreMissingVnetServiceEndpoint: false
    }]
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    retentionDescription: {
      cleanupPolicy: 'Delete'
      retentionTimeInHours: retentionHours
    }
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
  properties: {
    userMetadata: 'aoai-chargeback consumer: checkpoints live in its SQLite store, not in a storage account.'
  }
}

resource senderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, senderPrincipalId, dataSenderRoleId)
  scope: hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSenderRoleId)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
    description: 'API Management logs chargeback usage events (log-to-eventhub).'
  }
}

resource receiverRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, receiverPrincipalId, dataReceiverRoleId)
  scope: hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiverRoleId)
    principalId: receiverPrincipalId
    principalType: 'ServicePrincipal'
    description: 'The chargeback consumer reads usage events.'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
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

output namespaceFqdn string = '${namespace.name}.servicebus.windows.net'
output eventHubId string = hub.id
