// API Management side, deployed into API Management's resource group: the Event Hubs logger
// (managed identity, no connection string), the two chargeback policy fragments, and (when
// attachToApi) the Azure OpenAI API's policy that includes them. The fragment and policy text
// is the XML in apim-policies/, loaded at build time; format 'xml' because those files are
// well-formed XML with the policy expressions entity-escaped.

param apimName string
param loggerName string
param eventHubsNamespaceFqdn string
param eventHubName string
param eventHubId string
@description('SystemAssigned, or the client id of a user-assigned identity of API Management.')
param identityClientId string
param aoaiApiName string
param attachToApi bool
param aoaiBackendId string

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

resource aoaiApi 'Microsoft.ApiManagement/service/apis@2024-05-01' existing = {
  parent: apim
  name: aoaiApiName
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: apim
  name: loggerName
  properties: {
    loggerType: 'azureEventHub'
    description: 'aoai-chargeback usage events (schema v1) to Event Hubs'
    isBuffered: true
    resourceId: eventHubId
    credentials: {
      name: eventHubName
      endpointAddress: eventHubsNamespaceFqdn
      identityClientId: identityClientId
    }
  }
}

resource inboundFragment 'Microsoft.ApiManagement/service/policyFragments@2024-05-01' = {
  parent: apim
  name: 'aoai-chargeback-inbound'
  properties: {
    description: 'aoai-chargeback: detect streaming, request include_usage, keep the countable request parts. Include in inbound.'
    format: 'xml'
    value: loadTextContent('../../apim-policies/aoai-chargeback-inbound.xml')
  }
}

resource logFragment 'Microsoft.ApiManagement/service/policyFragments@2024-05-01' = {
  parent: apim
  name: 'aoai-chargeback-log'
  properties: {
    description: 'aoai-chargeback: build the usage event and log it to Event Hubs. Include in outbound and on-error.'
    format: 'xml'
    value: loadTextContent('../../apim-policies/aoai-chargeback-log.xml')
  }
  dependsOn: [
    logger
  ]
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = if (attachToApi) {
  parent: aoaiApi
  name: 'policy'
  properties: {
    format: 'xml'
    value: replace(loadTextContent('../../apim-policies/azure-openai-api.policy.xml'), '__AOAI_BACKEND_ID__', aoaiBackendId)
  }
  dependsOn: [
    inboundFragment
    logFragment
  ]
}

output loggerId string = logger.id
