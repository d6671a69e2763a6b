// The consumer's network: one subnet, no inbound access from the internet (no public IP, no
// NSG allow rule), outbound through a NAT gateway (packages, image pulls, Application Insights),
// and service endpoints so Event Hubs and Key Vault can admit this subnet by name.

param location string
param namePrefix string
param vnetAddressPrefix string
param subnetPrefix string
param availabilityZone string
param tags object

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-01-01' = {
  name: '${namePrefix}-consumer-nsg'
  location: location
  tags: tags
  properties: {
    // No rules of our own: the defaults deny inbound from the internet and admit only the
    // VNet (and peered VNets, e.g. Azure Bastion's). The VM has no public IP.
    securityRules: []
  }
}

resource natIp 'Microsoft.Network/publicIPAddresses@2024-01-01' = {
  name: '${namePrefix}-nat-ip'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  zones: empty(availabilityZone) ? [] : [
    availabilityZone
  ]
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-01-01' = {
  name: '${namePrefix}-nat'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  zones: empty(availabilityZone) ? [] : [
    availabilityZone
  ]
  properties: {
    idleTimeoutInMinutes: 10
    publicIpAddresses: [
      {
        id: natIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: '${namePrefix}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: 'consumer'
        properties: {
          addressPrefix: subnetPrefix
          defaultOutboundAccess: false
          networkSecurityGroup: {
            id: nsg.id
          }
          natGateway: {
            id: nat.id
          }
          serviceEndpoints: [
            {
              service: 'Microsoft.EventHub'
            }
            {
              service: 'Microsoft.KeyVault'
            }
          ]
        }
      }
    ]
  }
}

output consumerSubnetId string = '${vnet.id}/subnets/consumer'
output natPublicIp string = natIp.properties.ipAddress
