// aoai-chargeback: everything between an existing API Management instance (fronting Azure
// OpenAI) and a running chargeback consumer. Deploy at resource-group scope into the group
// that will hold the chargeback resources; API Management may live in another group.
//
//   az deployment group create -g rg-chargeback -f infra/main.bicep -p infra/main.bicepparam
//
// See infra/README.md for what each part is, the choices made and the checkov checks skipped.

targetScope = 'resourceGroup'

@description('Azure region for the chargeback resources.')
param location string = resourceGroup().location

@description('Short prefix for resource names: lower case letters, digits and dashes, starting with a letter.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'chargeback'

@description('Tags applied to every resource this template creates.')
param tags object = {}

// ---- API Management (existing) ----

@description('Name of the existing API Management instance that fronts Azure OpenAI.')
param apimName string

@description('Resource group of the API Management instance.')
param apimResourceGroupName string = resourceGroup().name

@description('Id (name) of the Azure OpenAI API in API Management.')
param aoaiApiName string = 'azure-openai'

@description('Deploy apim-policies/azure-openai-api.policy.xml as the API policy. This REPLACES the API policy; set false to add the include-fragment lines to your own policy instead.')
param attachToApi bool = true

@description('Backend entity id the API policy routes to (set-backend-service backend-id). Used when attachToApi is true.')
param aoaiBackendId string = 'azure-openai'

@description('Client id of the user-assigned identity API Management logs with. Empty: its system-assigned identity.')
param apimIdentityClientId string = ''

@description('Principal (object) id of that user-assigned identity. Required when apimIdentityClientId is set.')
param apimIdentityPrincipalId string = ''

// ---- Event Hubs ----

@description('Partitions of the usage hub. Fixed for the life of a Standard-tier hub: size for peak events per second (about 1,000 per partition).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Hours an event stays in the hub: how long the consumer may be down without losing usage. Standard tier allows up to 168.')
@minValue(1)
@maxValue(168)
param eventHubRetentionHours int = 168

@description('Throughput units (1 MB/s or 1,000 events/s in each).')
@minValue(1)
@maxValue(20)
param eventHubsThroughputUnits int = 1

@description('Auto-inflate ceiling for throughput units.')
@minValue(1)
@maxValue(40)
param eventHubsMaxThroughputUnits int = 4

@description('Public IP ranges (CIDR) allowed to reach Event Hubs, e.g. API Management\'s public IPs. With this and eventHubsAllowedSubnetIds empty, the namespace accepts any network and relies on Entra ID alone.')
param eventHubsAllowedIpRanges array = []

@description('Subnet ids (with the Microsoft.EventHub service endpoint) allowed to reach Event Hubs, e.g. a VNet-integrated API Management\'s subnet. The consumer\'s subnet is always allowed.')
param eventHubsAllowedSubnetIds array = []

// ---- Monitoring ----

@description('Days Log Analytics keeps telemetry and diagnostics.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

// ---- Key Vault ----

@description('Public IP ranges (CIDR) of operators who add alert-channel secrets to Key Vault. Everything else is denied except the consumer subnet and trusted Azure services.')
param keyVaultAllowedIpRanges array = []

// ---- Consumer host ----

@description('Address space of the consumer VNet.')
param vnetAddressPrefix string = '10.42.0.0/24'

@description('Consumer subnet (inside vnetAddressPrefix).')
param consumerSubnetPrefix string = '10.42.0.0/27'

@description('VM size: one with accelerated networking and SCSI data disks (e.g. Dsv5, Dasv5), so the data disk appears at /dev/disk/azure/scsi1/lun0.')
param vmSize string = 'Standard_D2s_v5'

@description('Availability zone of the VM and its data disk; empty for a region without zones.')
@allowed([
  ''
  '1'
  '2'
  '3'
])
param availabilityZone string = '1'

@description('Administrator user name (SSH key only; the VM has no public IP, reach it through Bastion or the serial console).')
param adminUsername string = 'chargeback'

@description('SSH public key of the administrator.')
param adminSshPublicKey string

@description('Size of the managed data disk that holds the SQLite database.')
@minValue(32)
@maxValue(1024)
param dataDiskSizeGB int = 64

@description('Data disk SKU. Premium_ZRS survives a zone failure (attach the disk to a VM in another zone).')
@allowed([
  'Premium_LRS'
  'Premium_ZRS'
])
param dataDiskSku string = 'Premium_LRS'

@description('Create a container registry for the consumer image. False: consumerImage must name an image the VM can pull.')
param deployRegistry bool = true

@description('Tag of the consumer image in the registry this template creates (aoai-chargeback:<tag>). Push it with the commands in infra/README.md; the VM retries until it exists.')
param consumerImageTag string

@description('Full consumer image reference, used when deployRegistry is false.')
param consumerImage string = ''

@description('OpenTelemetry Collector image (contrib distribution, for its azuremonitor exporter). Pin a digest in production.')
param otelCollectorImage string = 'otel/opentelemetry-collector-contrib:0.120.0'

@description('Consumer configuration (TOML: prices, budgets, deployment-to-model map), written to /etc/chargeback/chargeback.toml. Empty: the consumer\'s defaults.')
param consumerConfigToml string = ''

// ---- Names ----

var suffix = uniqueString(resourceGroup().id, namePrefix)
// Registry names allow letters and digits only; Key Vault names at most 24 characters.
var compactPrefix = toLower(replace(namePrefix, '-', ''))
var eventHubsNamespaceName = '${namePrefix}-ehns-${suffix}'
var eventHubName = 'aoai-usage'
var consumerGroupName = 'chargeback'
var loggerName = 'aoai-chargeback'
var allTags = union(tags, {
  workload: 'aoai-chargeback'
})

// ---- API Management identity (the sender) ----

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
  scope: resourceGroup(apimResourceGroupName)
}

var apimPrincipalId = empty(apimIdentityClientId) ? apim.identity.principalId : apimIdentityPrincipalId

// ---- The consumer's own identity (the receiver) ----

resource consumerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-consumer-id'
  location: location
  tags: allTags
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${namePrefix}-monitoring'
  params: {
    location: location
    namePrefix: namePrefix
    suffix: suffix
    retentionDays: logRetentionDays
    tags: allTags
  }
}

module network 'modules/network.bicep' = {
  name: '${namePrefix}-network'
  params: {
    location: location
    namePrefix: namePrefix
    vnetAddressPrefix: vnetAddressPrefix
    subnetPrefix: consumerSubnetPrefix
    availabilityZone: availabilityZone
    tags: allTags
  }
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: '${namePrefix}-eventhubs'
  params: {
    location: location
    namespaceName: eventHubsNamespaceName
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    partitionCount: eventHubPartitionCount
    retentionHours: eventHubRetentionHours
    throughputUnits: eventHubsThroughputUnits
    maxThroughputUnits: eventHubsMaxThroughputUnits
    allowedIpRanges: eventHubsAllowedIpRanges
    allowedSubnetIds: concat([
      network.outputs.consumerSubnetId
    ], eventHubsAllowedSubnetIds)
    restrictNetwork: !empty(eventHubsAllowedIpRanges) || !empty(eventHubsAllowedSubnetIds)
    senderPrincipalId: apimPrincipalId
    receiverPrincipalId: consumerIdentity.properties.principalId
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: '${namePrefix}-keyvault'
  params: {
    location: location
    vaultName: take('kv${compactPrefix}${suffix}', 24)
    allowedIpRanges: keyVaultAllowedIpRanges
    allowedSubnetId: network.outputs.consumerSubnetId
    readerPrincipalId: consumerIdentity.properties.principalId
    appInsightsName: monitoring.outputs.appInsightsName
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module registry 'modules/registry.bicep' = if (deployRegistry) {
  name: '${namePrefix}-registry'
  params: {
    location: location
    registryName: take('${compactPrefix}${suffix}', 50)
    pullerPrincipalId: consumerIdentity.properties.principalId
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module consumer 'modules/consumer-vm.bicep' = {
  name: '${namePrefix}-consumer'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
    subnetId: network.outputs.consumerSubnetId
    vmSize: vmSize
    availabilityZone: availabilityZone
    adminUsername: adminUsername
    adminSshPublicKey: adminSshPublicKey
    dataDiskSizeGB: dataDiskSizeGB
    dataDiskSku: dataDiskSku
    identityId: consumerIdentity.id
    identityClientId: consumerIdentity.properties.clientId
    eventHubsNamespaceFqdn: eventHubs.outputs.namespaceFqdn
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    keyVaultName: keyVault.outputs.vaultName
    registryLoginServer: deployRegistry ? registry.outputs.loginServer : ''
    consumerImage: deployRegistry ? '${registry.outputs.loginServer}/aoai-chargeback:${consumerImageTag}' : consumerImage
    otelCollectorImage: otelCollectorImage
    consumerConfigToml: consumerConfigToml
  }
}

// ---- API Management: logger, fragments, API policy (in API Management's resource group) ----

module apimWiring 'modules/apim.bicep' = {
  name: '${namePrefix}-apim-wiring'
  scope: resourceGroup(apimResourceGroupName)
  params: {
    apimName: apimName
    loggerName: loggerName
    eventHubsNamespaceFqdn: eventHubs.outputs.namespaceFqdn
    eventHubName: eventHubName
    eventHubId: eventHubs.outputs.eventHubId
    identityClientId: empty(apimIdentityClientId) ? 'SystemAssigned' : apimIdentityClientId
    aoaiApiName: aoaiApiName
    attachToApi: attachToApi
    aoaiBackendId: aoaiBackendId
  }
}

output eventHubsNamespaceFqdn string = eventHubs.outputs.namespaceFqdn
output eventHubName string = eventHubName
output consumerGroupName string = consumerGroupName
output consumerIdentityClientId string = consumerIdentity.properties.clientId
output keyVaultName string = keyVault.outputs.vaultName
output registryLoginServer string = deployRegistry ? registry.outputs.loginServer : ''
output applicationInsightsName string = monitoring.outputs.appInsightsName
output consumerVmName string = consumer.outputs.vmName
output apimLoggerName string = loggerName
