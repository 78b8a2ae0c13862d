// Azure Monitor workbook over the app's Application Insights (see workbook.json; docs/deploy.md quotes its queries).
// It shows under the Application Insights resource, Monitoring > Workbooks.
param displayName string
param location string
param tags object = {}
param applicationInsightsId string

@description('Workbook resource name: a GUID, stable for this resource group so re-deployments update it.')
param name string = guid(resourceGroup().id, 'training-status-cache-workbook')

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: name
  location: location
  tags: union(tags, { 'hidden-title': displayName })
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: replace(loadTextContent('workbook.json'), '__APPLICATION_INSIGHTS_ID__', applicationInsightsId)
  }
}

output id string = workbook.id
