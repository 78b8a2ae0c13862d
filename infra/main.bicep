// Training-status cache: everything `azd up` creates (see infra/README.md).
// The function app reaches storage, Key Vault and Application Insights with one user-assigned managed identity:
// no account key, connection string with a key, or shared access signature is created or passed anywhere.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds the unique suffix of every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer to add subscription keys. Empty: no grant.')
param principalId string = ''

@description('Kind of principal behind principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('E-mail address that receives the alerts. Empty: the alert rules are created without an action group.')
param alertEmail string = ''

@description('Minutes without a finished poll cycle before the cycle alert fires. Keep it above the POLL_SCHEDULE period.')
@allowed([
  5
  10
  15
  30
  45
])
param missingCycleMinutes int = 10

@description('Most instances the Flex Consumption plan scales the app to.')
@maxValue(1000)
param maximumInstanceCount int = 100

// App settings of the code (shared/config.ts SETTINGS), with the code's defaults.
@description('POLL_SCHEDULE: NCRONTAB schedule (six fields) of the poll cycle. Empty: the code default.')
param pollSchedule string = ''

@description('ALLOWED_UPSTREAM_HOSTS: extra exact upstream origins, comma-separated. Empty: none.')
param allowedUpstreamHosts string = ''

@description('WEBHOOK_SIGNING_SECRET_NAME: the Key Vault secret every webhook subscription signing secret is derived from.')
param webhookSigningSecretName string = 'webhook-signing'

@description('ALLOWED_WEBHOOK_ORIGINS: extra exact webhook origins, comma-separated. Empty: none.')
param allowedWebhookOrigins string = ''

@description('EVENT_GRID_TOPIC_ENDPOINT: also publish CloudEvents 1.0 to this Event Grid topic. Empty: no Event Grid.')
param eventGridTopicEndpoint string = ''

@description('DROP_IN_FUNCTION_KEY_SECRET_NAME: the Key Vault secret whose value x-functions-key may carry on the drop-in routes /api/upstream/... (e.g. host--functionKey--default with AzureWebJobsSecretStorageType=keyvault). Empty: only the upstream keys authorize them.')
param dropInFunctionKeySecretName string = ''

@description('UPSTREAM_RATE_LIMITS: per-host budgets, e.g. myface.cognitiveservices.azure.com=20/min+30000/month. Empty: kind defaults (face.personGroup 20/min, face.largePersonGroup 20/min, face.largeFaceList 20/min, language.textAuthoring 100/min, language.conversationAuthoring 100/min, documentIntelligence.modelBuild 60/min, speech.customModel 100/min, openai.fineTuning 60/min, customVision.iteration 60/min).')
param upstreamRateLimits string = ''

@description('SECRET_CACHE_TTL_SECONDS: how long a subscription key read from Key Vault is cached.')
@minValue(0)
@maxValue(86400)
param secretCacheTtlSeconds int = 300

@description('UPSTREAM_TIMEOUT_SECONDS: timeout of one upstream call (shorter than CYCLE_DEADLINE_SECONDS).')
@minValue(1)
@maxValue(120)
param upstreamTimeoutSeconds int = 10

@description('CYCLE_DEADLINE_SECONDS: deadline of one poll cycle (well inside host.json functionTimeout).')
@minValue(5)
@maxValue(3600)
param cycleDeadlineSeconds int = 50

@description('CYCLE_MAX_JOBS: most jobs one cycle selects.')
@minValue(1)
@maxValue(1000000)
param cycleMaxJobs int = 10000

@description('IDLE_INTERVAL_SECONDS: poll interval of idle Face groups and notFound jobs (0 = stop).')
@minValue(0)
@maxValue(604800)
param idleIntervalSeconds int = 900

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var defaultPollSchedule = '0 */1 * * * *'
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Blob container that holds the Flex Consumption deployment packages.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    principalId: principalId
    principalType: principalType
  }
}

module api './app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    statusTableServiceUri: storage.outputs.tableServiceUri
    pollQueueServiceUri: storage.outputs.queueServiceUri
    keyVaultUrl: keyVault.outputs.uri
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    maximumInstanceCount: maximumInstanceCount
    pollSchedule: empty(pollSchedule) ? defaultPollSchedule : pollSchedule
    allowedUpstreamHosts: allowedUpstreamHosts
    webhookSigningSecretName: webhookSigningSecretName
    allowedWebhookOrigins: allowedWebhookOrigins
    eventGridTopicEndpoint: eventGridTopicEndpoint
    dropInFunctionKeySecretName: dropInFunctionKeySecretName
    upstreamRateLimits: upstreamRateLimits
    secretCacheTtlSeconds: secretCacheTtlSeconds
    upstreamTimeoutSeconds: upstreamTimeoutSeconds
    cycleDeadlineSeconds: cycleDeadlineSeconds
    cycleMaxJobs: cycleMaxJobs
    idleIntervalSeconds: idleIntervalSeconds
  }
  // The app starts only once its identity holds its roles (first cycle, deployment package read).
  dependsOn: [
    rbac
  ]
}

module workbook './app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    displayName: 'Training-status cache (${environmentName})'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

module alerts './app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: '${abbrs.insightsScheduledQueryRules}${resourceToken}'
    actionGroupName: '${abbrs.insightsActionGroups}${resourceToken}'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
    missingCycleMinutes: missingCycleMinutes
  }
}

// azd writes these to .azure/<env>/.env. Names, URLs and ids only: never a key, a secret or a storage connection string.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output STATUS_STORAGE__tableServiceUri string = storage.outputs.tableServiceUri
output POLL_QUEUE__queueServiceUri string = storage.outputs.queueServiceUri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_URL string = api.outputs.uri
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_ENDPOINTS array = [
  api.outputs.uri
]
// An ingestion endpoint, not a key: local authentication is disabled, ingestion needs the identity's Entra token.
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
