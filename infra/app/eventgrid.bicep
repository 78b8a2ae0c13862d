// Optional Event Grid topic (docs/spec.md §12): CloudEvents 1.0 input, Entra ID only (local auth off); the app
// publishes with its identity (EventGrid Data Sender, infra/app/rbac.bicep).
param name string
param location string
param tags object = {}

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
