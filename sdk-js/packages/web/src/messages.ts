// Every word the built-in UI shows, per language. `{name}` placeholders are filled in by ui.ts:
// `{who}` is the agent with their account ("Marie from Acme"), `{agent}` the agent alone and
// `{site}` this page's host name.

/** The built-in UI's strings; `Tandem.start({ messages })` overrides any of them. */
export interface Messages {
  /** The agent's name when the session does not give one. */
  someAgent: string
  /** The agent and their account. */
  agentFrom: string
  code: string
  codeHint: string
  consentTitle: string
  consentSees: string
  consentNotSees: string
  allow: string
  decline: string
  controlTitle: string
  controlCan: string
  controlCannot: string
  yes: string
  no: string
  /** The indicator's name for screen readers. */
  sharing: string
  viewing: string
  controlling: string
  stopSharing: string
  stopControl: string
  endedTitle: string
  declinedTitle: string
  codeExpiredTitle: string
  sessionEndedTitle: string
  endedByYou: string
  endedByAgent: string
  declined: string
  timedOut: string
  codeExpired: string
  ended: string
  dismiss: string
  /** Said to the customer's screen reader when the agent points at an element (accessibility
   * mode): `{element}` is its name and role. */
  pointingAt: string
  /** The same, when the agent draws on it. */
  drawingOn: string
}

const en: Messages = {
  someAgent: 'A support agent',
  agentFrom: '{agent} from {account}',
  code: 'Your support code',
  codeHint: 'Read this code to your support agent.',
  consentTitle: '{who} would like to see this page',
  consentSees: '{agent} will see this tab of {site} as you see it, and where your pointer is.',
  consentNotSees: 'Not your other tabs or apps. Fields marked private stay hidden.',
  allow: 'Allow',
  decline: 'Decline',
  controlTitle: '{who} would like to control this page',
  controlCan: '{agent} will be able to click, scroll and type for you in this tab of {site}.',
  controlCannot: 'Not in your other tabs or apps, nor in private fields. You can take control back at any time.',
  yes: 'Yes',
  no: 'No',
  sharing: 'Screen sharing',
  viewing: '{agent} is viewing this page',
  controlling: '{agent} has control of this page',
  stopSharing: 'Stop sharing',
  stopControl: 'Stop control',
  endedTitle: 'Sharing has ended',
  declinedTitle: 'Nothing was shared',
  codeExpiredTitle: 'Code expired',
  sessionEndedTitle: 'Support session ended',
  endedByYou: 'You stopped sharing. {agent} can no longer see this page.',
  endedByAgent: '{agent} ended the session. They can no longer see this page.',
  declined: 'You declined. {agent} cannot see this page.',
  timedOut: 'The session ended after a period of inactivity.',
  codeExpired: 'Your support code has expired. Ask for a new one if you still need help.',
  ended: 'The support session has ended.',
  dismiss: 'Dismiss',
  pointingAt: '{agent} is pointing at {element}',
  drawingOn: '{agent} is drawing on {element}'
}

const fr: Messages = {
  someAgent: 'Un conseiller',
  agentFrom: '{agent} ({account})',
  code: 'Votre code d’assistance',
  codeHint: 'Communiquez ce code à votre conseiller.',
  consentTitle: '{who} souhaite voir cette page',
  consentSees: '{agent} verra cet onglet de {site} tel que vous le voyez, ainsi que votre pointeur.',
  consentNotSees: 'Ni vos autres onglets, ni vos applications. Les champs privés restent masqués.',
  allow: 'Autoriser',
  decline: 'Refuser',
  controlTitle: '{who} souhaite prendre le contrôle de cette page',
  controlCan: '{agent} pourra cliquer, faire défiler et saisir à votre place dans cet onglet de {site}.',
  controlCannot: 'Ni dans vos autres onglets ou applications, ni dans les champs privés. Vous pouvez reprendre la main à tout moment.',
  yes: 'Oui',
  no: 'Non',
  sharing: 'Partage d’écran',
  viewing: '{agent} voit cette page',
  controlling: '{agent} contrôle cette page',
  stopSharing: 'Arrêter le partage',
  stopControl: 'Reprendre la main',
  endedTitle: 'Le partage est terminé',
  declinedTitle: 'Rien n’a été partagé',
  codeExpiredTitle: 'Code expiré',
  sessionEndedTitle: 'Session d’assistance terminée',
  endedByYou: 'Vous avez arrêté le partage. {agent} ne voit plus cette page.',
  endedByAgent: '{agent} a mis fin à la session et ne voit plus cette page.',
  declined: 'Vous avez refusé. {agent} ne voit pas cette page.',
  timedOut: 'La session a pris fin après une période d’inactivité.',
  codeExpired: 'Votre code d’assistance a expiré. Demandez-en un nouveau si vous avez encore besoin d’aide.',
  ended: 'La session d’assistance est terminée.',
  dismiss: 'Fermer',
  pointingAt: '{agent} vous montre {element}',
  drawingOn: '{agent} dessine sur {element}'
}

const de: Messages = {
  someAgent: 'Ein Support-Mitarbeiter',
  agentFrom: '{agent} von {account}',
  code: 'Ihr Support-Code',
  codeHint: 'Nennen Sie diesen Code Ihrem Support-Mitarbeiter.',
  consentTitle: '{who} möchte diese Seite sehen',
  consentSees: '{agent} sieht diesen Tab von {site} so wie Sie, und wo Ihr Mauszeiger ist.',
  consentNotSees: 'Nicht Ihre anderen Tabs oder Apps. Als privat markierte Felder bleiben verborgen.',
  allow: 'Erlauben',
  decline: 'Ablehnen',
  controlTitle: '{who} möchte diese Seite steuern',
  controlCan: '{agent} kann in diesem Tab von {site} für Sie klicken, scrollen und tippen.',
  controlCannot: 'Nicht in Ihren anderen Tabs oder Apps und nicht in privaten Feldern. Sie können die Steuerung jederzeit zurücknehmen.',
  yes: 'Ja',
  no: 'Nein',
  sharing: 'Bildschirmfreigabe',
  viewing: '{agent} sieht diese Seite',
  controlling: '{agent} steuert diese Seite',
  stopSharing: 'Freigabe beenden',
  stopControl: 'Steuerung beenden',
  endedTitle: 'Die Freigabe ist beendet',
  declinedTitle: 'Es wurde nichts freigegeben',
  codeExpiredTitle: 'Code abgelaufen',
  sessionEndedTitle: 'Support-Sitzung beendet',
  endedByYou: 'Sie haben die Freigabe beendet. {agent} sieht diese Seite nicht mehr.',
  endedByAgent: '{agent} hat die Sitzung beendet und sieht diese Seite nicht mehr.',
  declined: 'Sie haben abgelehnt. {agent} sieht diese Seite nicht.',
  timedOut: 'Die Sitzung wurde nach längerer Inaktivität beendet.',
  codeExpired: 'Ihr Support-Code ist abgelaufen. Fordern Sie einen neuen an, wenn Sie noch Hilfe brauchen.',
  ended: 'Die Support-Sitzung ist beendet.',
  dismiss: 'Schließen',
  pointingAt: '{agent} zeigt auf {element}',
  drawingOn: '{agent} zeichnet auf {element}'
}

/** The shipped languages, by primary language subtag. */
export const MESSAGES: Record<string, Messages> = { en, fr, de }

/**
 * The table for `locale` (a BCP 47 tag such as `fr-CA`; the browser's language by default),
 * English when Tandem does not speak it, with `overrides` on top. Returns the table and the
 * language it is in (for the UI's `lang`).
 */
export function messagesFor (locale?: string, overrides?: Partial<Messages>): { lang: string, messages: Messages } {
  const tags = locale ? [locale] : [...(navigator.languages ?? []), navigator.language]
  const lang = tags.map((t) => (t ?? '').toLowerCase().split('-')[0]).find((l) => l in MESSAGES) ?? 'en'
  return { lang, messages: { ...MESSAGES[lang], ...(overrides ?? {}) } }
}

/** `template` with its `{name}` placeholders filled from `values` (unknown ones left as they are). */
export function fill (template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
}
