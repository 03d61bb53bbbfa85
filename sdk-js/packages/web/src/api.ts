// REST calls as a device: the license key, the device id and its token on every request, through
// the request core of @tandem/core (failures are its APIError).
import { Client } from '@tandem/core'

export interface Device { id: string, token: string }

export class DeviceApi {
  readonly #client: Client

  constructor (readonly base: string, readonly license: string, public device: Device | null = null) {
    // No retries: a device's writes (registering, joining by code) are not safe to repeat.
    this.#client = new Client({ api: base, retries: 0, headers: () => this.#headers() })
  }

  /** One call under `/api/1`, e.g. `request('POST', '/sessions', body)`. */
  async request<T = any> (method: string, path: string, body?: unknown): Promise<T> {
    return await this.#client.request<T>(method, path, { body })
  }

  #headers (): Record<string, string> {
    const headers: Record<string, string> = {
      'X-CobrowseLicense': this.license,
      'X-CobrowsePlatform': 'web'
    }
    if (this.device) {
      headers['X-CobrowseDevice'] = this.device.id
      headers.Authorization = `Bearer ${this.device.token}`
    }
    return headers
  }
}
