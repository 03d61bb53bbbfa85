// The words of the Genesys-style built-in UI (the Co-browse button, the phone question and the
// session number), in the languages the rest of the customer UI speaks.

export interface GenesysMessages {
  button: string
  phoneTitle: string
  phoneText: string
  yes: string
  no: string
  contactTitle: string
  contactText: string
  ok: string
  tokenLabel: string
  tokenHint: string
  tokenSent: string
  waiting: string
  exit: string
  unsupported: string
  failed: string
}

export const GENESYS_MESSAGES: Record<string, GenesysMessages> = {
  en: {
    button: 'Co-browse',
    phoneTitle: 'Are you on the phone with a representative?',
    phoneText: 'Co-browsing shows this page to the representative you are talking to.',
    yes: 'Yes',
    no: 'No',
    contactTitle: 'Talk to us first',
    contactText: 'To co-browse, call us or start a chat with a representative, then press Co-browse again.',
    ok: 'OK',
    tokenLabel: 'Your co-browse session number',
    tokenHint: 'Read it to your representative.',
    tokenSent: 'It was sent to your representative in the chat.',
    waiting: 'Waiting for the representative to join…',
    exit: 'Exit co-browse',
    unsupported: 'Co-browsing does not work in this browser.',
    failed: 'Co-browsing could not start. Please try again.'
  },
  fr: {
    button: 'Co-navigation',
    phoneTitle: 'Êtes-vous au téléphone avec un conseiller ?',
    phoneText: 'La co-navigation montre cette page au conseiller avec qui vous parlez.',
    yes: 'Oui',
    no: 'Non',
    contactTitle: 'Contactez-nous d’abord',
    contactText: 'Pour co-naviguer, appelez-nous ou ouvrez une discussion avec un conseiller, puis appuyez de nouveau sur Co-navigation.',
    ok: 'OK',
    tokenLabel: 'Votre numéro de co-navigation',
    tokenHint: 'Lisez-le à votre conseiller.',
    tokenSent: 'Il a été envoyé à votre conseiller dans la discussion.',
    waiting: 'En attente du conseiller…',
    exit: 'Quitter la co-navigation',
    unsupported: 'La co-navigation ne fonctionne pas dans ce navigateur.',
    failed: 'La co-navigation n’a pas pu démarrer. Veuillez réessayer.'
  },
  de: {
    button: 'Co-Browsing',
    phoneTitle: 'Telefonieren Sie gerade mit einem Mitarbeiter?',
    phoneText: 'Beim Co-Browsing sieht der Mitarbeiter, mit dem Sie sprechen, diese Seite.',
    yes: 'Ja',
    no: 'Nein',
    contactTitle: 'Sprechen Sie uns zuerst an',
    contactText: 'Rufen Sie uns an oder starten Sie einen Chat mit einem Mitarbeiter und drücken Sie dann erneut auf Co-Browsing.',
    ok: 'OK',
    tokenLabel: 'Ihre Co-Browsing-Nummer',
    tokenHint: 'Nennen Sie sie Ihrem Mitarbeiter.',
    tokenSent: 'Sie wurde Ihrem Mitarbeiter im Chat gesendet.',
    waiting: 'Warten auf den Mitarbeiter …',
    exit: 'Co-Browsing beenden',
    unsupported: 'Co-Browsing funktioniert in diesem Browser nicht.',
    failed: 'Co-Browsing konnte nicht starten. Bitte versuchen Sie es erneut.'
  }
}

/** The language for `locale` (else the browser's), English when it is not shipped. */
export function genesysMessages (locale?: string): { lang: string, t: GenesysMessages } {
  const tags = locale ? [locale] : [...(navigator.languages ?? []), navigator.language]
  const lang = tags.map((t) => (t ?? '').toLowerCase().split('-')[0]).find((l) => l in GENESYS_MESSAGES) ?? 'en'
  return { lang, t: GENESYS_MESSAGES[lang] }
}
