// The one-script-tag build: `<script src="/sdk-js/tandem.js">` defines `window.Tandem`.
import { start, Tandem, ApiError } from './index'

;(window as any).Tandem = { start, Tandem, ApiError }
