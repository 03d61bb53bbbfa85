// `/sdk-js/glance.js`: the one script a page written for Glance's Cobrowse loads instead of
// Glance's. Its tag keeps Glance's shape; only the address changes, and the group id is the
// Tandem account's license key:
//
//   <script id="glance-cobrowse" src="https://tandem.example/sdk-js/glance.js"
//           data-groupid="<license key>"></script>
//
// It starts Tandem (the web SDK, also `window.Tandem`) against the server it was loaded from
// (`data-api` names another), with `GLANCE_COBROWSE.visitorid` as the visitor id, and defines
// `GLANCE.Cobrowse.Visitor` at once: calls made before Tandem has started wait for it.
// `data-ui="none"` turns the built-in UI off (the page answers consent through `window.Tandem`'s
// events).
import { APIError, start, Tandem } from '../index.js'
import { GlanceVisitor } from './visitor.js'

const script = (document.currentScript ?? document.getElementById('glance-cobrowse')) as HTMLScriptElement | null
const data = script?.dataset ?? {}
const license = data.groupid ?? data.license ?? ''
const api = data.api ?? (script?.src ? new URL(script.src, location.href).origin : location.origin)
const settings = (window as any).GLANCE_COBROWSE ?? {}
const visitorId = typeof settings.visitorid === 'string' && settings.visitorid ? settings.visitorid : undefined

const ready = license
  ? start({ license, api, visitorId, disableBuiltInUI: data.ui === 'none' })
  : Promise.reject(new Error('glance.js needs data-groupid="<your Tandem license key>" on its script tag'))
ready.catch((e: unknown) => console.error('Tandem (glance.js):', (e as Error).message))

const glance = (window as any).GLANCE ?? ((window as any).GLANCE = {})
glance.Cobrowse ??= {}
glance.Cobrowse.Visitor = new GlanceVisitor(ready)
;(window as any).Tandem ??= { start, Tandem, APIError, ready }
