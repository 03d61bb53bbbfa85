import { render } from 'preact'
import { App } from './App.tsx'
import './app.css'

render(<App />, document.getElementById('app') as HTMLElement)
