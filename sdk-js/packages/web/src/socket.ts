// A CBOR WebSocket to Tandem's /sockets/1/ws, authenticated with a bearer subprotocol, that
// reconnects with backoff until it is closed on purpose.
import { decode, encode } from 'cbor-x'

export type EventHandler = (event: string, data: any) => void

/** Close codes after which reconnecting with the same credentials cannot help. */
const FINAL = new Set([4001, 4002, 4004])

export class Socket {
  #ws: WebSocket | null = null
  #id = 0
  #attempt = 0
  #closed = false
  #queue: Uint8Array[] = []

  constructor (
    private readonly url: string,
    private readonly token: string,
    private readonly onEvent: EventHandler,
    private readonly onOpen: () => void = () => {},
    private readonly onFinalClose: (code: number) => void = () => {}
  ) {
    this.#connect()
  }

  #connect (): void {
    const bearer = btoa(this.token).replace(/=+$/, '')
    const ws = new WebSocket(this.url, ['cbor', `cbio.http.headers.authorization.bearer.${bearer}`])
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => {
      this.#attempt = 0
      for (const frame of this.#queue.splice(0)) ws.send(frame)
      this.onOpen()
    }
    ws.onmessage = (e) => {
      const msg = decode(new Uint8Array(e.data as ArrayBuffer))
      if (msg && typeof msg.event === 'string') this.onEvent(msg.event, msg.data)
    }
    ws.onclose = (e) => {
      this.#ws = null
      if (this.#closed) return
      if (FINAL.has(e.code)) {
        this.#closed = true
        this.onFinalClose(e.code)
        return
      }
      this.#attempt += 1
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.#attempt, 6)) * (1 + Math.random() / 2)
      setTimeout(() => { if (!this.#closed) this.#connect() }, delay)
    }
    this.#ws = ws
  }

  send (event: string, data?: unknown): void {
    this.#id += 1
    const frame = encode({ event, id: this.#id, data })
    if (this.#ws && this.#ws.readyState === WebSocket.OPEN) this.#ws.send(frame)
    else this.#queue.push(frame)
  }

  close (): void {
    this.#closed = true
    this.#ws?.close(1000)
  }
}

/** The socket URL for an API base: `ws(s)://host/sockets/1/ws?<query>`. */
export function socketUrl (api: string, query: Record<string, string>): string {
  const url = new URL('sockets/1/ws', api.replace(/\/?$/, '/'))
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  return url.toString()
}
