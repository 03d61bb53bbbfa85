// GLANCE.Cobrowse.Agent's navigate(): Glance's rules, checked before anything reaches the viewer.
import { describe, expect, it } from 'vitest'
import { GlanceAgent, navigation } from '../src/glance/agent.js'

describe('navigate(params)', () => {
  it('takes a URL or one of back, forward and refresh, with confirm, open or link', () => {
    expect(navigation({ url: 'delivery.html', link: { target: '_self' } })).toEqual({ action: 'url', url: 'delivery.html', link: { target: '_self' } })
    expect(navigation({ url: 'https://shop.example/', open: { target: '_blank', features: 'width=400' }, confirm: { text: 'Go?' } }))
      .toEqual({ action: 'url', url: 'https://shop.example/', open: { target: '_blank', features: 'width=400' }, confirm: { text: 'Go?' } })
    expect(navigation({ url: 'back' })).toEqual({ action: 'back' })
    expect(navigation({ forward: true, confirm: {} })).toEqual({ action: 'forward', confirm: {} })
    expect(navigation({ refresh: true })).toEqual({ action: 'refresh' })
    expect(navigation({ url: 'x', open: {} })).toEqual({ action: 'url', url: 'x', open: { target: '_self' } })
  })
  it('refuses what Glance does not allow', () => {
    const bad = [null, {}, { url: '' }, { url: 'a', back: true }, { back: true, refresh: true }, { url: 'a', open: {}, link: {} },
      { back: true, link: {} }, { url: 'a', link: { target: '_top' } }, { url: 'a', link: { target: '_self', features: 'x' } },
      { url: 'a', confirm: 'yes' }, { url: 7 }]
    for (const params of bad) expect(typeof navigation(params as any), JSON.stringify(params)).toBe('string')
  })
})

describe('GLANCE.Cobrowse.Agent before init', () => {
  it('answers with errors a page can tell apart', async () => {
    const agent = new GlanceAgent()
    await expect(agent.sendSessionMessage('hello', {})).rejects.toMatchObject({ code: 'not_initialized' })
    await expect(agent.navigate({ back: true, link: {} })).rejects.toMatchObject({ code: 'invalid_request' })
    await expect(agent.requestRC('yes' as any)).rejects.toMatchObject({ code: 'invalid_request' })
    await expect(agent.addScreenshare()).rejects.toMatchObject({ code: 'not_supported', name: 'GlanceAgentError' })
    await expect(agent.pauseScreeenshare()).rejects.toMatchObject({ code: 'not_supported' })
    expect(agent.accessibilityEnabled()).toBe(false)
    expect(agent.getSessionState('rc')).toBeUndefined()
    expect(agent.getUserState('plan')).toBeUndefined()
  })
})
