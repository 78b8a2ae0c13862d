// The vault that holds the upstream subscription keys (one secret per key, named by each job's keySecretName).
// Azure RBAC only (no access policies); deleted secrets are kept 90 days and cannot be purged early.
param name string
param location string
param tags object = {}

@description('Public network access to the vault. Disable it only with a private endpoint for the app.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
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
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.name
output id string = vault.id
// https://<vault>.vault.azure.net, the KEY_VAULT_URL app setting.
output uri string = 'https://${vault.name}${environment().suffixes.keyvaultDns}'
