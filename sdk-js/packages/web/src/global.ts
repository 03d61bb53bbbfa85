// The one-script-tag build: `<script src="/sdk-js/tandem.js">` defines `window.Tandem`
// (`ApiError` is `APIError` under its old name).
import { start, Tandem, APIError, ApiError } from './index.js'

;(window as any).Tandem = { start, Tandem, APIError, ApiError }
