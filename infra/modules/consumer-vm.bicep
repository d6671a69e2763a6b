// The consumer host: a small Linux VM with a Premium SSD managed data disk for the SQLite
// database (ext4 on a local block device: POSIX locks and WAL shared memory work as SQLite
// requires, unlike an SMB share). The consumer runs as a container under systemd with its own
// user-assigned managed identity, next to an OpenTelemetry Collector; see cloud-init.yaml.
// Changing a file in infra/consumer/ changes customData, which an existing VM does not take:
// delete the VM (the data disk is kept: deleteOption Detach) and redeploy.

param location string
param namePrefix string
param tags object
param subnetId string
param vmSize string
param availabilityZone string
param adminUsername string
param adminSshPublicKey string
param dataDiskSizeGB int
param dataDiskSku string
param identityId string
param identityClientId string
param eventHubsNamespaceFqdn string
param eventHubName string
param consumerGroupName string
param keyVaultName string
param registryLoginServer string
param consumerImage string
param otelCollectorImage string
param consumerConfigToml string

var zones = empty(availabilityZone) ? [] : [
  availabilityZone
]

// Read by the host's scripts and units (never passed into the containers).
var hostEnv = join([
  'AZURE_CLIENT_ID=${identityClientId}'
  'KEY_VAULT_NAME=${keyVaultName}'
  'ACR_LOGIN_SERVER=${registryLoginServer}'
  'CONSUMER_IMAGE=${consumerImage}'
  'OTEL_COLLECTOR_IMAGE=${otelCollectorImage}'
], '\n')

// The consumer container's environment (secrets are added from Key Vault at start).
var consumerEnv = join(concat([
  'AZURE_CLIENT_ID=${identityClientId}'
  'CHARGEBACK_EVENTHUB_NAMESPACE=${eventHubsNamespaceFqdn}'
  'CHARGEBACK_EVENTHUB_NAME=${eventHubName}'
  'CHARGEBACK_EVENTHUB_CONSUMER_GROUP=${consumerGroupName}'
  'CHARGEBACK_STORE=/var/lib/chargeback/chargeback.db'
  'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317'
  'OTEL_EXPORTER_OTLP_PROTOCOL=grpc'
  'OTEL_SERVICE_NAME=aoai-chargeback'
  'OTEL_RESOURCE_ATTRIBUTES=service.namespace=${namePrefix},host.name=${namePrefix}-consumer-vm'
], empty(consumerConfigToml) ? [] : [
  'CHARGEBACK_CONFIG=/etc/chargeback/chargeback.toml'
]), '\n')

var consumerConfig = empty(consumerConfigToml) ? '# No configuration was given at deployment: the consumer runs on its defaults.\n' : consumerConfigToml

// userData can change on redeployment (apply-config.sh reads it at every start); customData,
// read once by cloud-init at first boot, holds only the static files from infra/consumer/.
var vmUserData = {
  hostEnv: '${hostEnv}\n'
  consumerEnv: '${consumerEnv}\n'
  configToml: consumerConfig
}

var cloudInitTemplate = loadTextContent('../consumer/cloud-init.yaml')
var cloudInitOtel = replace(cloudInitTemplate, '__OTEL_CONFIG_B64__', loadFileAsBase64('../consumer/otel-collector.yaml'))
var cloudInitApply = replace(cloudInitOtel, '__APPLY_CONFIG_B64__', loadFileAsBase64('../consumer/apply-config.sh'))
var cloudInitSecrets = replace(cloudInitApply, '__FETCH_SECRETS_B64__', loadFileAsBase64('../consumer/fetch-secrets.sh'))
var cloudInit = replace(cloudInitSecrets, '__PULL_IMAGE_B64__', loadFileAsBase64('../consumer/pull-image.sh'))

resource dataDisk 'Microsoft.Compute/disks@2023-10-02' = {
  name: '${namePrefix}-consumer-data'
  location: location
  tags: tags
  // A zone-redundant disk takes no zone.
  zones: dataDiskSku == 'Premium_ZRS' ? [] : zones
  sku: {
    name: dataDiskSku
  }
  // checkov:skip=CKV_AZURE_93:Encrypted at rest with platform-managed keys, and on the host (encryption at host); a customer-managed key needs a disk encryption set and key rotation this template leaves to platforms that mandate it.
  properties: {
    creationData: {
      createOption: 'Empty'
    }
    diskSizeGB: dataDiskSizeGB
    publicNetworkAccess: 'Disabled'
    networkAccessPolicy: 'DenyAll'
    encryption: {
      type: 'EncryptionAtRestWithPlatformKey'
    }
  }
}

resource nic 'Microsoft.Network/networkInterfaces@2024-01-01' = {
  name: '${namePrefix}-consumer-nic'
  location: location
  tags: tags
  properties: {
    enableAcceleratedNetworking: true
    ipConfigurations: [
      {
        name: 'primary'
        properties: {
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: subnetId
          }
        }
      }
    ]
  }
}

resource vm 'Microsoft.Compute/virtualMachines@2024-03-01' = {
  name: '${namePrefix}-consumer-vm'
  location: location
  tags: tags
  zones: zones
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    hardwareProfile: {
      vmSize: vmSize
    }
    securityProfile: {
      securityType: 'TrustedLaunch'
      uefiSettings: {
        secureBootEnabled: true
        vTpmEnabled: true
      }
      // Temp disk and caches encrypted on the host (needs the EncryptionAtHost feature registered).
      encryptionAtHost: true
    }
    storageProfile: {
      imageReference: {
        publisher: 'Canonical'
        offer: 'ubuntu-24_04-lts'
        sku: 'server'
        version: 'latest'
      }
      osDisk: {
        name: '${namePrefix}-consumer-os'
        createOption: 'FromImage'
        caching: 'ReadWrite'
        deleteOption: 'Delete'
        diskSizeGB: 64
        managedDisk: {
          storageAccountType: 'Premium_LRS'
        }
      }
      dataDisks: [
        {
          lun: 0
          createOption: 'Attach'
          // Writes go straight to the disk; reads (reports) are served from the host cache.
          caching: 'ReadOnly'
          // The database outlives the VM: a rebuilt VM re-attaches the same disk.
          deleteOption: 'Detach'
          managedDisk: {
            id: dataDisk.id
          }
        }
      ]
    }
    userData: base64(string(vmUserData))
    osProfile: {
      computerName: '${namePrefix}-consumer'
      adminUsername: adminUsername
      customData: base64(cloudInit)
      allowExtensionOperations: false
      linuxConfiguration: {
        disablePasswordAuthentication: true
        provisionVMAgent: true
        ssh: {
          publicKeys: [
            {
              path: '/home/${adminUsername}/.ssh/authorized_keys'
              keyData: adminSshPublicKey
            }
          ]
        }
        patchSettings: {
          patchMode: 'ImageDefault'
        }
      }
    }
    networkProfile: {
      networkInterfaces: [
        {
          id: nic.id
          properties: {
            deleteOption: 'Delete'
          }
        }
      ]
    }
    diagnosticsProfile: {
      bootDiagnostics: {
        enabled: true
      }
    }
  }
}

output vmName string = vm.name
