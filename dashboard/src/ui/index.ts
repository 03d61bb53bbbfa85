// Tandem's small design system: tokens.css (framework-free custom properties), components.css
// (class names `t-…`) and these Preact components on top.
import './tokens.css'
import './components.css'

export { Button, ButtonLink } from './Button.tsx'
export { Checkbox, Field, Input, Select, TextArea } from './Field.tsx'
export { Dialog } from './Dialog.tsx'
export { toast, Toasts } from './Toast.tsx'
export { StatusBadge } from './StatusBadge.tsx'
export { Empty, ErrorState, Loading } from './States.tsx'
