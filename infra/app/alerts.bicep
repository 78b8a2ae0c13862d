// Log alerts over the app's OpenTelemetry metrics in Application Insights `customMetrics` (names `statuscache.*`,
// dimensions in customDimensions). The app exports them itself, unsampled: host.json sampling never drops what these
// rules count. An e-mail action group is created when alertEmail is set.
param namePrefix string
param actionGroupName string
param location string
param tags object = {}
param applicationInsightsId string

@description('E-mail address for the alerts; empty: the rules fire without notifying anyone (see them in the Portal).')
param alertEmail string = ''

@description('Window (minutes) in which at least one poll cycle must finish.')
@allowed([
  5
  10
  15
  30
  45
])
param missingCycleMinutes int = 10

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'trainstatus'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroups = empty(alertEmail) ? [] : [actionGroup.id]

// A row when no cycle finished in the window, or polls failed because of the service itself: the subscription key
// could not be read (SecretUnavailable). Upstream answers (RateLimited, NotFound...) are charted, not alerted on.
var cycleQuery = '''
customMetrics
| where name in ('statuscache.cycle.duration', 'statuscache.polls')
| summarize cycles = countif(name == 'statuscache.cycle.duration'), keyFailures = sumif(valueSum, name == 'statuscache.polls' and tostring(customDimensions.outcome) == 'SecretUnavailable')
| where cycles == 0 or keyFailures > 0
'''

// A row per resource paused for quota (403 "Out of call volume quota" / Language QuotaExceeded): it is suspended.
var quotaQuery = '''
customMetrics
| where name == 'statuscache.resource.paused' and tostring(customDimensions.reason) == 'QuotaExceeded'
| summarize pauses = sum(valueSum), lastAt = max(timestamp) by resource = tostring(customDimensions.resource)
'''

// A row per job kind with jobs whose status just became failed (a transition: a failed job polled again later
// does not count again).
var jobFailedQuery = '''
customMetrics
| where name == 'statuscache.transitions' and tostring(customDimensions.status) == 'failed'
| summarize failedJobs = sum(valueSum) by jobKind = tostring(customDimensions.kind)
'''

resource cycleAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poll-cycle'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Training-status cache: poll cycle failing or missing'
    description: 'No poll cycle finished in ${missingCycleMinutes} minutes, or polls failed because a subscription key could not be read (statuscache.polls outcome SecretUnavailable).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT${missingCycleMinutes}M'
    criteria: {
      allOf: [
        {
          query: cycleQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource quotaAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-quota-pause'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Training-status cache: resource paused for quota'
    description: 'An Azure AI resource answered with its call-volume quota exhausted; its jobs are not polled until the stated time.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: quotaQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'resource'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource jobFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-job-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Training-status cache: training job failed'
    description: 'A registered training job reached status failed (statuscache.transitions to failed). Which job: Logs, traces, job polled with status failed.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: jobFailedQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'jobKind'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}

output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
output ruleIds array = [
  cycleAlert.id
  quotaAlert.id
  jobFailedAlert.id
]
