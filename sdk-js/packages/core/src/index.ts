// @tandem/core: what the web SDK, the viewer and the agent SDK share. Private: each package
// bundles what it uses of it (and the published type declarations carry it inlined).
export { APIError, TokenExpiredError, isExpiry } from './errors.js'
export type { APIErrorOptions } from './errors.js'
export { Client, buildQuery, normaliseApi } from './request.js'
export type { CallInit, ClientOptions, Query, QueryValue, RequestCoreOptions, RequestOptions } from './request.js'
export { CborSocket, bearerProtocols, doubling, socketUrl } from './socket.js'
export type { Endpoint, SocketOptions } from './socket.js'
export { Close } from './close.js'
export { originMatches } from './origins.js'
export { markJoin } from './timing.js'
export type * from './resources.js'
export type { components, paths } from './openapi.js'
export { decodeData, encodeData, FrameError, type Frame } from '@tandem/wire'
