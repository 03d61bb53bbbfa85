// The viewer's keyboard shortcuts (listed in the help popover and in each control's tooltip).
// They never fire while the agent types: in one of the viewer's fields, or into the customer's
// page under remote control.
import type { AgentTools, Tool } from './tools.js'

interface Actions {
  tools: () => AgentTools | null
  toggleFit: () => void
  toggleFullscreen: () => void
  toggleHelp: (open?: boolean) => void
}

const TOOL_KEYS: Record<string, Tool> = { p: 'pointer', l: 'laser', d: 'drawing' }

/** Whether a key event comes from somewhere the agent is typing. */
export function typing (target: EventTarget | null): boolean {
  const el = target as HTMLElement | null
  if (!el || typeof el.tagName !== 'string') return false
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)
}

let installed = false

export function shortcuts (actions: Actions): void {
  if (installed) return
  installed = true
  addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return
    if (e.key === 'Escape') {
      const help = document.getElementById('help')
      if (help && !help.hidden) actions.toggleHelp(false)
      return
    }
    const tools = actions.tools()
    // Under remote control, with an element of the customer's page clicked, keys are theirs.
    if (tools?.typingForCustomer) return
    const key = e.key.toLowerCase()
    let done = true
    if (key === '?') actions.toggleHelp()
    else if (key === 'z') actions.toggleFit()
    else if (key === 'f') actions.toggleFullscreen()
    else if (!tools?.enabled || document.body.dataset.agentTools === 'none') done = false
    else if (TOOL_KEYS[key]) tools.setTool(TOOL_KEYS[key])
    else if (key === 'x') tools.clear()
    else if (key === 'c') tools.toggleControl()
    else if (/^[1-9]$/.test(key) && tools.colours[Number(key) - 1]) tools.setColour(tools.colours[Number(key) - 1])
    else done = false
    if (done) e.preventDefault()
  })
}
