// Devices: `/api/1/devices`, and the Device resource that follows its data and presence live.
import { Emitter } from './emitter.js'
import { type Context, segment, toDate } from './context.js'
import { Following } from './realtime.js'
import { APIError, type Query, type RequestOptions } from '@tandem/core'
import type { CustomData, DeviceInfo, DeviceResource, DevicesQuery, Presence } from './types.js'
import type { Session } from './sessions.js'

export type DeviceEvents = {
  /** The device's data or presence changed, or the socket pushed it. */
  updated: [device: Device]
}

/** One app or website in one browser, as the web SDK registered it. */
export class Device extends Emitter<DeviceEvents> {
  #ctx: Context
  #resource: DeviceResource
  #following: Following

  private constructor (ctx: Context, resource: DeviceResource) {
    super()
    this.#ctx = ctx
    this.#resource = resource
    this.#following = new Following(ctx.realtime)
  }

  /** @internal */
  static from (ctx: Context, resource: DeviceResource): Device {
    return new Device(ctx, resource)
  }

  /** The id the device SDK generated. */
  get id (): string { return this.#resource.id }
  /** What the device SDK reports: platform, app, locale, timezone, SDK version… */
  get device (): DeviceInfo { return this.#resource.device ?? {} }
  /** Your metadata on this device, for filtering (`filter_<key>`). */
  get custom_data (): CustomData { return this.#resource.custom_data ?? {} }
  /** Whether the device holds its socket to the server now. */
  get online (): boolean { return this.#resource.online ?? false }
  /** Whether it can be asked to join a session now: a device that listens on a socket must be
   * online; one without a notification token is reached by push and always can. */
  get connectable (): boolean {
    const flag = this.#resource.connectable ?? true
    return this.#resource.notification_token ? flag && this.online : flag
  }

  /** When the device was last seen. */
  get last_active (): Date | null { return toDate(this.#resource.last_active) }
  get created (): Date | null { return toDate(this.#resource.created) }
  get updated (): Date | null { return toDate(this.#resource.updated) }

  /** Reads the device again. */
  async fetch (query?: Query, options?: RequestOptions): Promise<this> {
    const resource = await this.#ctx.client.request<DeviceResource>('GET', this.#path(), { query, signal: options?.signal })
    this.#apply(resource, false)
    return this
  }

  /** Asks the device to join `session` (the customer is prompted); `attempt` counts retries. */
  async notify (args: { session: Session | string, attempt?: number }, query?: Query, options?: RequestOptions): Promise<void> {
    const session = typeof args.session === 'string' ? args.session : args.session.id
    await this.#ctx.client.request('POST', `${this.#path()}/notifications`, {
      query,
      body: { session, attempt: args.attempt ?? 1 },
      signal: options?.signal
    })
  }

  /** Follows this device live: `updated` on pushed changes and presence. Resolves when the
   * server has acknowledged the subscription. */
  async subscribe (): Promise<void> {
    if (!this.#following.active && !this.#resource.notification_token) await this.fetch()
    const following = this.#following.ready
    if (following) return await following
    const token = this.#resource.notification_token
    if (!token) throw new APIError('this device has no notification_token to subscribe with', { id: 'not_subscribable' })
    return await this.#following.start({
      kind: 'device',
      id: this.id,
      token,
      receive: (event, data) => {
        if (data?.id !== this.id) return
        if (event === 'device') this.#apply(data as DeviceResource, true)
        else if (event === 'presence') this.#presence(data as Presence)
      }
    })
  }

  /** Stops following this device; the shared socket closes when nothing else is followed. */
  unsubscribe (): void {
    this.#following.stop()
  }

  /** The device as plain data (what the API sent, with pushed presence applied). */
  toJSON (): DeviceResource {
    return { ...this.#resource }
  }

  #path (): string {
    return `/devices/${segment(this.id)}`
  }

  #presence (p: Presence): void {
    const patch: Partial<DeviceResource> = { online: p.present === true }
    if (typeof p.last_seen === 'string') patch.last_active = p.last_seen
    this.#apply({ ...this.#resource, ...patch }, true)
  }

  #apply (resource: DeviceResource, pushed: boolean): void {
    const before = JSON.stringify(this.#resource)
    this.#resource = { ...this.#resource, ...resource }
    if (pushed || JSON.stringify(this.#resource) !== before) this.emit('updated', this)
  }
}

/** `api.devices`: find the customer's device. */
export class DevicesAPI {
  #ctx: Context

  /** @hidden Made by the SDK, not by applications. */
  constructor (ctx: Context) {
    this.#ctx = ctx
  }

  /** Devices; `filter_<key>` matches `custom_data.<key>`, `seen_before`/`seen_after` page. */
  async list (query: DevicesQuery = {}, options?: RequestOptions): Promise<Device[]> {
    const list = await this.#ctx.client.list<DeviceResource>('/devices', query as Query, options)
    return list.map((resource) => Device.from(this.#ctx, resource))
  }

  async get (id: string, query?: Query, options?: RequestOptions): Promise<Device> {
    const resource = await this.#ctx.client.request<DeviceResource>('GET', `/devices/${segment(id)}`, {
      query,
      signal: options?.signal
    })
    return Device.from(this.#ctx, resource)
  }
}
