// `/sdk-js/glance-agent.js`: GLANCE.Cobrowse.Agent for a helpdesk page written for Glance's Agent
// API. Its tag takes the place of Glance's agent script (`…CobrowseJS.ashx?…&script=Agent`):
//
//   <script src="https://tandem.example/sdk-js/glance-agent.js"></script>
//
// then, as with Glance, `GLANCE.Cobrowse.Agent.init(iframe)` with the viewer in the iframe.
import { GlanceAgent, GlanceAgentError } from './agent.js'

const glance = (window as any).GLANCE ?? ((window as any).GLANCE = {})
glance.Cobrowse ??= {}
glance.Cobrowse.Agent = new GlanceAgent()
glance.Cobrowse.AgentError = GlanceAgentError
