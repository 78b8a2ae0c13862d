// Storage for the Functions host (AzureWebJobsStorage), the Flex Consumption deployment packages, the status
// tables and the polls queue. Reached only with Entra ID (managed identity): shared keys, and so SAS and key connection strings, are off.
param name string
param location string
param tags object = {}

@description('Blob container for the Flex Consumption deployment packages.')
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The app creates its tables ('jobs', 'pollstate', 'subscriptions', 'deliveries') at start; its identity holds Storage Table Data Contributor.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The polls queue (a cycle hands polls to it; pollJob takes them) and its poison queue (messages that failed five
// times). The app would create them on first use too; declared here so they exist, and can be watched, from the start.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource pollsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'polls'
}

resource pollsPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'polls-poison'
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
// https://<account>.table.core.windows.net (no trailing slash), the STATUS_STORAGE__tableServiceUri app setting.
output tableServiceUri string = 'https://${storage.name}.table.${environment().suffixes.storage}'
// https://<account>.queue.core.windows.net (no trailing slash), the POLL_QUEUE__queueServiceUri app setting.
output queueServiceUri string = 'https://${storage.name}.queue.${environment().suffixes.storage}'
