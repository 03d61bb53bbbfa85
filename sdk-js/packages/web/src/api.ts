// REST calls as a device: the license key, the device id and its token on every request.

export interface Device { id: string, token: string }

export class ApiError extends Error {
  constructor (readonly status: number, readonly id: string, message: string) {
    super(message)
  }
}

export class DeviceApi {
  constructor (readonly base: string, readonly license: string, public device: Device | null = null) {}

  async request<T = any> (method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-CobrowseLicense': this.license,
      'X-CobrowsePlatform': 'web'
    }
    if (this.device) {
      headers['X-CobrowseDevice'] = this.device.id
      headers.Authorization = `Bearer ${this.device.token}`
    }
    const res = await fetch(new URL(path, this.base), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const json = await res.json().catch(() => ({}))
    if (!res.ok) throw new ApiError(res.status, json.id ?? 'error', json.message ?? res.statusText)
    return json as T
  }
}
