// The CommonJS entry: `require('@tandem/agent')` is the TandemAPI class itself, as
// `require('cobrowse-agent-sdk')` is CobrowseAPI; the named exports hang off it as well.
import * as agent from './index.js'

declare const module: { exports: unknown }

module.exports = Object.assign(agent.default, agent)
