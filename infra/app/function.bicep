// The function app (azd service 'api') on the Flex Consumption plan: Linux, Node 22, one user-assigned identity.
// Every app setting the code reads (shared/config.ts SETTINGS) is set here; test/unit/infra.test.ts checks it.
param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID and the storage/App Insights credentials).')
param identityClientId string

param storageAccountName string
param deploymentContainerName string

@description('https://<account>.table.core.windows.net')
param statusTableServiceUri string

@description('https://<account>.queue.core.windows.net')
param pollQueueServiceUri string

@description('https://<vault>.vault.azure.net')
param keyVaultUrl string

param applicationInsightsConnectionString string

@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// App settings of the code; main.bicep holds their defaults (the code's defaults).
param pollSchedule string
param allowedUpstreamHosts string
param webhookSigningSecretName string
param allowedWebhookOrigins string
param eventGridTopicEndpoint string
param dropInFunctionKeySecretName string
param upstreamRateLimits string
param secretCacheTtlSeconds int
param upstreamTimeoutSeconds int
param cycleDeadlineSeconds int
param cycleMaxJobs int
param idleIntervalSeconds int

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Deployments use Entra ID (azd signs in); no publishing user name / password for FTP or the SCM site.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Identity-based connections only. Flex Consumption takes the runtime from functionAppConfig, so
// FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION / WEBSITE_RUN_FROM_PACKAGE are not set (it refuses them).
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Functions host storage (leases, timer schedule monitor) through the identity.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Status tables ('jobs', 'pollstate', 'subscriptions', 'deliveries') through the same identity.
    STATUS_STORAGE__tableServiceUri: statusTableServiceUri
    STATUS_STORAGE__clientId: identityClientId
    // The polls queue (hand-off to pollJob) through the same identity; the trigger's connection is POLL_QUEUE.
    POLL_QUEUE__queueServiceUri: pollQueueServiceUri
    POLL_QUEUE__credential: 'managedidentity'
    POLL_QUEUE__clientId: identityClientId
    // Subscription keys, read with ManagedIdentityCredential({ clientId: AZURE_CLIENT_ID }).
    KEY_VAULT_URL: keyVaultUrl
    AZURE_CLIENT_ID: identityClientId
    // Telemetry: ingestion endpoint + Entra authentication (local auth is disabled on the component): the host's logs
    // and the app's metrics exporter both use them; the identity holds Monitoring Metrics Publisher.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // The app's own metrics (customMetrics) are exported every minute and after each timer run.
    OTEL_METRIC_EXPORT_INTERVAL: '60000'
    // Behaviour (docs/spec.md §9).
    POLL_SCHEDULE: pollSchedule
    ALLOWED_UPSTREAM_HOSTS: allowedUpstreamHosts
    UPSTREAM_RATE_LIMITS: upstreamRateLimits
    SECRET_CACHE_TTL_SECONDS: string(secretCacheTtlSeconds)
    UPSTREAM_TIMEOUT_SECONDS: string(upstreamTimeoutSeconds)
    CYCLE_DEADLINE_SECONDS: string(cycleDeadlineSeconds)
    CYCLE_MAX_JOBS: string(cycleMaxJobs)
    IDLE_INTERVAL_SECONDS: string(idleIntervalSeconds)
    // Notifications (docs/spec.md §12).
    WEBHOOK_SIGNING_SECRET_NAME: webhookSigningSecretName
    ALLOWED_WEBHOOK_ORIGINS: allowedWebhookOrigins
    EVENT_GRID_TOPIC_ENDPOINT: eventGridTopicEndpoint
    // Drop-in reads (docs/spec.md §13).
    DROP_IN_FUNCTION_KEY_SECRET_NAME: dropInFunctionKeySecretName
  }
}

output name string = functionApp.name
output id string = functionApp.id
output uri string = 'https://${functionApp.properties.defaultHostName}'
