// genesys.js: Genesys Co-browse's instrumentation on Tandem. A page written for Genesys keeps its
// `_genesys` configuration and only changes the script's URL to
// `https://<tandem>/sdk-js/genesys.js?license=<license key>`. It reads:
//
// - `_genesys.cobrowse.disableBuiltInUI`: the page draws its own UI with the Co-browse API;
// - `_genesys.cobrowse.primaryMedia`: the External Media Adapter that carries the token;
// - `_genesys.cobrowse.onReady(cobrowseApi, isTopContext)` and `_genesys.onReady` (a function,
//   or an array whose later pushes are called too) with `{cobrowse: cobrowseApi}`;
// - `_genesys.cobrowse.tandem`: Tandem's own start options (customData, redactionSelectors,
//   locale…), if the page wants any;
// - `_gcb`, the configuration's deprecated name, when there is no `_genesys`.
import { start, type StartOptions } from '../index.js'
import { type ExternalMediaAdapter } from './adapter.js'
import { Cobrowse } from './cobrowse.js'

type Callback = (...args: any[]) => unknown

interface GenesysConfig {
  onReady?: Callback | Callback[]
  cobrowse?: {
    disableBuiltInUI?: boolean
    primaryMedia?: ExternalMediaAdapter
    onReady?: Callback
    apikey?: string
    tandem?: Partial<StartOptions>
  }
}

/** The script's own address: the Tandem server, and the license key in its query. */
const script = document.currentScript as HTMLScriptElement | null

function configuration (): GenesysConfig {
  const w = window as any
  const config = w._genesys ?? w._gcb
  return config && typeof config === 'object' ? config : {}
}

function call (fn: unknown, ...args: unknown[]): void {
  if (typeof fn !== 'function') return
  try {
    fn(...args)
  } catch (e) {
    console.error('Tandem: an onReady callback threw', e)
  }
}

/** `onReady` as a function, or an array: each entry now, and each one pushed later. */
function ready (onReady: GenesysConfig['onReady'], apis: Record<string, unknown>): void {
  if (typeof onReady === 'function') return call(onReady, apis)
  if (!Array.isArray(onReady)) return
  for (const fn of onReady) call(fn, apis)
  const push = Array.prototype.push
  Object.defineProperty(onReady, 'push', {
    configurable: true,
    value: (...fns: Callback[]): number => {
      const length = push.apply(onReady, fns)
      for (const fn of fns) call(fn, apis)
      return length
    }
  })
}

function main (): void {
  const config = configuration()
  const cobrowseConfig = config.cobrowse ?? {}
  const src = new URL(script?.src || location.href, location.href)
  const license = src.searchParams.get('license') ?? src.searchParams.get('apikey') ??
    cobrowseConfig.apikey ?? script?.dataset.license ?? ''
  const ownUI = cobrowseConfig.disableBuiltInUI === true
  const extra = cobrowseConfig.tandem ?? {}
  const tandem = license
    ? start({ ...extra, license, api: extra.api ?? src.origin, disableBuiltInUI: ownUI })
    : Promise.reject(new Error('genesys.js needs the account\'s license key: add ?license=<key> to its src'))
  const cobrowse = new Cobrowse(tandem, {
    top: window.top === window,
    ownUI,
    media: cobrowseConfig.primaryMedia
  }, extra.locale)
  call(cobrowseConfig.onReady, cobrowse, cobrowse.isTopContext)
  ready(config.onReady, { cobrowse })
}

// Loaded twice (two snippets on one page), it starts once.
if (!(window as any).__tandemGenesys) {
  ;(window as any).__tandemGenesys = true
  main()
}
