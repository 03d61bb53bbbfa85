// Tandem's small design system: @tandem/design (sdk-js/packages/design: tokens.css and components.css,
// shared with the viewer and the customer UI) and these Preact components on top.
import '@tandem/design/tokens.css'
import '@tandem/design/components.css'

export { Button, ButtonLink } from './Button.tsx'
export { Checkbox, Field, Input, Select, TextArea } from './Field.tsx'
export { Dialog } from './Dialog.tsx'
export { toast, Toasts } from './Toast.tsx'
export { StatusBadge } from './StatusBadge.tsx'
export { Empty, ErrorState, Loading } from './States.tsx'
