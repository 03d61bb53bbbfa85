// The recorder as the web SDK configures it, and as rrweb ships it, for bench/recorder.mjs.
import { record } from '@rrweb/record'
import { recordOptions } from '../packages/web/src/index.js'

;(window as any).benchRecord = (tuned: boolean, emit: (e: unknown) => void) =>
  tuned ? record({ ...recordOptions(''), emit }) : record({ emit })
