// Log alerts over the poll cycle's structured log lines in Application Insights `traces`
// (message text, then one JSON object from its first '{'). An e-mail action group is created when alertEmail is set.
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

// A row when no cycle finished in the window, or a cycle finished with errors (faults of the service itself).
var cycleQuery = '''
traces
| where message startswith 'poll cycle finished '
| extend d = parse_json(substring(message, indexof(message, '{')))
| summarize cycles = count(), cyclesWithErrors = countif(toint(d.errors) > 0)
| where cycles == 0 or cyclesWithErrors > 0
'''

// A row per quota pause (403 "Out of call volume quota" / Language QuotaExceeded): the resource is suspended.
var quotaQuery = '''
traces
| where message startswith 'resource paused '
| extend d = parse_json(substring(message, indexof(message, '{')))
| where tostring(d.code) == 'QuotaExceeded'
| project timestamp, resource = tostring(d.resource), pausedUntil = tostring(d.until)
'''

// A row per job whose status just became failed (the first failed poll after another status), so an idle
// failed Face group polled again later does not fire again.
var jobFailedQuery = '''
traces
| where message startswith 'job polled '
| extend d = parse_json(substring(message, indexof(message, '{')))
| project timestamp, jobId = tostring(d.jobId), jobKind = tostring(d.kind), resource = tostring(d.resource), status = tostring(d.status)
| order by jobId asc, timestamp asc
| extend newlyFailed = status == 'failed' and (prev(jobId) != jobId or prev(status) != 'failed')
| where newlyFailed and timestamp > ago(15m)
| project timestamp, jobId, jobKind, resource
'''

resource cycleAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poll-cycle'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Training-status cache: poll cycle failing or missing'
    description: 'No poll cycle finished in ${missingCycleMinutes} minutes, or a cycle finished with errors > 0.'
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
    description: 'A registered training job (Face person group or Language model) reached status failed.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // Look back a day so the previous status of each job is known.
    overrideQueryTimeRange: 'P1D'
    criteria: {
      allOf: [
        {
          query: jobFailedQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'jobId'
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
