// Wire compatibility with the public Cobrowse.io agent SDK (`cobrowse-agent-sdk`, pinned in
// package.json). Every call below goes through the real SDK against a running Tandem server.
//
//   TANDEM_API=http://127.0.0.1:12345 TANDEM_TOKEN=… TANDEM_AGENT_TOKEN=… TANDEM_EXPIRED_TOKEN=… \
//     node --experimental-websocket --test tests/compat/agent-sdk.test.mjs
//
// TANDEM_TOKEN: administrator JWT for a fresh account. TANDEM_AGENT_TOKEN: plain agent JWT, same
// account, another user. TANDEM_EXPIRED_TOKEN: an expired JWT of that account.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import CobrowseAPI, { APIError, TokenExpiredError, unsafeSymbol } from 'cobrowse-agent-sdk'

const REQUIRED = ['TANDEM_API', 'TANDEM_TOKEN', 'TANDEM_AGENT_TOKEN', 'TANDEM_EXPIRED_TOKEN']
const missing = REQUIRED.filter((name) => !process.env[name])

if (missing.length > 0) {
  // Fail loudly: a compatibility suite that silently skips proves nothing.
  test('environment is configured', () => {
    assert.fail(`missing environment variables: ${missing.join(', ')}`)
  })
} else {
  defineSuite(process.env)
}

function defineSuite (env) {
  const base = env.TANDEM_API
  const admin = new CobrowseAPI(env.TANDEM_TOKEN, { api: base })
  const agent = new CobrowseAPI(env.TANDEM_AGENT_TOKEN, { api: base })
  const expired = new CobrowseAPI(env.TANDEM_EXPIRED_TOKEN, { api: base })

  // Unique per run, so a reused server or account cannot make a filter pass by accident.
  const run = randomUUID()
  const team = `team-${run}`

  test('environment is configured', () => {
    assert.doesNotThrow(() => new URL(base), `TANDEM_API is not a URL: ${base}`)
    for (const name of ['TANDEM_TOKEN', 'TANDEM_AGENT_TOKEN', 'TANDEM_EXPIRED_TOKEN']) {
      assert.equal(typeof claims(env[name]), 'object', `${name} is not a JWT`)
    }
  })

  test('sessions are created with custom_data and listed by filter_*, state and limit', async () => {
    const userId = `user-${run}`
    const otherUserId = `other-${run}`
    const a = await admin.sessions.create({ custom_data: { user_id: userId, team }, agent: 'me' })
    const b = await admin.sessions.create({ custom_data: { user_id: otherUserId, team }, agent: 'me' })
    const c = await admin.sessions.create({ custom_data: { team }, agent: 'me' })
    for (const s of [a, b, c]) {
      assert.equal(typeof s.id, 'string')
      assert.ok(s.id.length > 0)
      assert.equal(s.state, 'pending')
    }
    assert.equal(new Set([a.id, b.id, c.id]).size, 3, 'session ids are unique')
    assert.deepEqual(a.custom_data, { user_id: userId, team })

    // one filter
    assert.deepEqual(ids(await admin.sessions.list({ filter_user_id: userId, agent: 'all' })), [a.id])
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, agent: 'all' })), sorted([a.id, b.id, c.id]))
    // the administrator's own sessions are in its plain list too (agent defaults to the caller)
    assert.deepEqual(ids(await admin.sessions.list({ filter_user_id: userId })), [a.id])

    // two filters are ANDed, not ORed
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, filter_user_id: userId, agent: 'all' })), [a.id])
    assert.deepEqual(await admin.sessions.list({ filter_team: `no-such-team-${run}`, filter_user_id: userId, agent: 'all' }), [])

    // a filter matching nothing is an empty array, not an error
    assert.deepEqual(await admin.sessions.list({ filter_user_id: `nobody-${run}`, agent: 'all' }), [])

    // state: a single string (state=ended) and the bracketed array form (state[]=...)
    await c.end()
    assert.equal(c.state, 'ended')
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, agent: 'all', state: 'pending' })), sorted([a.id, b.id]))
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, agent: 'all', state: 'ended' })), [c.id])
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, agent: 'all', state: ['ended'] })), [c.id])
    assert.deepEqual(ids(await admin.sessions.list({ filter_team: team, agent: 'all', state: ['pending', 'ended'] })), sorted([a.id, b.id, c.id]))
    assert.deepEqual(await admin.sessions.list({ filter_team: team, agent: 'all', state: ['active', 'authorizing'] }), [])

    // limit caps the page
    const limited = await admin.sessions.list({ filter_team: team, agent: 'all', limit: 1 })
    assert.equal(limited.length, 1)
    assert.ok([a.id, b.id, c.id].includes(limited[0].id))
  })

  test('a new session is pending with a 6-digit code, and resolves by code and by id', async () => {
    const me = await admin.users.current()
    const created = await admin.sessions.create({ custom_data: { team, step: 'get' }, agent: 'me' })
    assert.equal(created.state, 'pending')
    assert.equal(created.isPending(), true)
    assert.equal(typeof created.code, 'string', 'code is a string (leading zeros matter)')
    assert.match(created.code, /^\d{6}$/)
    assert.deepEqual(created.custom_data, { team, step: 'get' })
    assert.equal(created.agent?.id, me.id, 'agent: "me" assigns the caller')

    // The SDK turns these into Date objects; `created` is only parsed when `updated` is present.
    assertDate(created.created, 'created')
    assertDate(created.updated, 'updated')
    assert.equal(created.activated, null, 'a pending session has not been activated')
    assert.equal(created.ended, null, 'a pending session has not ended')
    if (created.expires !== null) assertDate(created.expires, 'expires')
    assert.ok(Array.isArray(created.agents))

    const byCode = await admin.sessions.get(created.code)
    assert.equal(byCode.id, created.id)
    assert.equal(byCode.code, created.code)
    assert.equal(byCode.state, 'pending')

    const byId = await admin.sessions.get(created.id)
    assert.equal(byId.id, created.id)
    assert.deepEqual(byId.custom_data, { team, step: 'get' })
    assert.equal(byId.created.getTime(), created.created.getTime())

    // fetch() re-reads the same resource in place
    await byId.fetch()
    assert.equal(byId.id, created.id)
    assert.equal(byId.state, 'pending')
  })

  test('update changes custom_data; end() ends it as agent_ended; ending again is a 409', async () => {
    const session = await admin.sessions.create({ custom_data: { team, step: 'update' }, agent: 'me' })
    const code = session.code

    // PUT with a partial body: only custom_data changes, the state stays as it was.
    const data = { team, step: 'update', ticket: `T-${run}`, n: 2, vip: true }
    // Session.update()/end() refresh the object in place (they resolve to undefined in 2.16.2).
    await session.update({ custom_data: data })
    assert.deepEqual(session.custom_data, data)
    assert.equal(session.state, 'pending')
    assert.deepEqual((await admin.sessions.get(session.id)).custom_data, data)
    assert.deepEqual(ids(await admin.sessions.list({ filter_ticket: `T-${run}`, agent: 'all' })), [session.id])

    let endedEvents = 0
    session.on('ended', () => { endedEvents += 1 })
    await session.end()
    assert.equal(session.state, 'ended')
    assert.equal(session.isEnded(), true)
    assert.equal(session.ended_reason, 'agent_ended')
    assertDate(session.ended, 'ended')
    assert.ok(session.ended.getTime() >= session.created.getTime(), 'ended is not before created')
    assert.equal(endedEvents, 1, 'the SDK saw the state change to "ended"')
    assert.deepEqual(session.custom_data, data, 'ending keeps custom_data')

    const reread = await admin.sessions.get(session.id)
    assert.equal(reread.state, 'ended')
    assert.equal(reread.ended_reason, 'agent_ended')

    // ended is final
    await assert.rejects(session.end(), apiError(409))
    assert.equal((await admin.sessions.get(session.id)).state, 'ended')

    // a code exists only while its session is pending
    await assert.rejects(admin.sessions.get(code), apiError(404))
  })

  test('users.current, accounts.list, regions.closest and policies.current', async () => {
    const adminClaims = claims(env.TANDEM_TOKEN)

    const me = await admin.users.current()
    const user = me[unsafeSymbol].getResource()
    assert.equal(typeof me.id, 'string')
    assert.ok(me.id.length > 0)
    assert.equal(user.email, adminClaims.sub, 'the user is the JWT subject')
    // the SDK authenticates its socket with these two fields of users/me
    assert.equal(typeof user.notification_token, 'string')
    assert.ok(user.notification_token.length > 0)
    assert.equal(typeof user.notification_url, 'string')
    assert.doesNotThrow(() => new URL(user.notification_url, base))

    const byId = await admin.users.get(me.id)
    assert.equal(byId.id, me.id)

    const other = await agent.users.current()
    assert.notEqual(other.id, me.id)
    assert.equal(other[unsafeSymbol].getResource().email, claims(env.TANDEM_AGENT_TOKEN).sub)

    const accounts = await admin.accounts.list()
    assert.ok(Array.isArray(accounts))
    assert.ok(accounts.length >= 1)
    for (const account of accounts) {
      assert.equal(typeof account.id, 'string')
      assert.equal(typeof account.license_key, 'string')
      assert.ok(account.license_key.length > 0)
      assert.equal(typeof account.features, 'object')
      assert.notEqual(account.features, null)
      for (const [name, on] of Object.entries(account.features)) {
        assert.equal(typeof on, 'boolean', `feature ${name} is a boolean`)
      }
    }
    assert.ok(
      accounts.some((account) => account.license_key === adminClaims.iss),
      'the account whose license key signed the JWT (iss) is listed'
    )

    const region = await admin.regions.closest()
    assert.equal(typeof region.id, 'string')
    assert.ok(region.id.length > 0)
    if (region.type !== undefined) assert.equal(typeof region.type, 'string')
    // the region id may be passed back when creating a session
    const inRegion = await admin.sessions.create({ custom_data: { team, step: 'region' }, region: region.id, agent: 'me' })
    assert.equal(inRegion.state, 'pending')
    await inRegion.end()

    const policy = await admin.policies.current()
    const body = policy.toJSON()
    assert.equal(typeof body, 'object')
    assert.ok(!Array.isArray(body))
    for (const [resource, rules] of Object.entries(body)) {
      assert.equal(typeof rules, 'object', `policy.${resource} is an object`)
      if (rules.permissions !== undefined) {
        assert.ok(Array.isArray(rules.permissions), `policy.${resource}.permissions is an array`)
        for (const p of rules.permissions) assert.equal(typeof p, 'string')
      }
    }
    assert.equal(typeof policy.hasPermission('sessions:read'), 'boolean')
  })

  test('an agent sees only its own sessions and may not list agent: "all"', async () => {
    const mine = await admin.sessions.create({ custom_data: { team, step: 'visibility' }, agent: 'me' })
    const theirs = await agent.sessions.create({ custom_data: { team, step: 'visibility' }, agent: 'me' })
    const agentUser = await agent.users.current()
    assert.equal(theirs.agent?.id, agentUser.id)

    const seen = ids(await agent.sessions.list({ filter_team: team }))
    assert.deepEqual(seen, [theirs.id], "the agent's plain list holds its own session and none of the admin's")
    assert.ok(!seen.includes(mine.id))
    const seenUnfiltered = ids(await agent.sessions.list())
    assert.ok(!seenUnfiltered.includes(mine.id), "an unfiltered agent list holds none of the admin's sessions")
    assert.ok(seenUnfiltered.includes(theirs.id))

    await assert.rejects(agent.sessions.list({ agent: 'all' }), apiError(403))
    await assert.rejects(agent.sessions.list({ agent: 'all', filter_team: team }), apiError(403))

    // the administrator does see both with agent: 'all'
    const all = ids(await admin.sessions.list({ filter_team: team, filter_step: 'visibility', agent: 'all' }))
    assert.deepEqual(all, sorted([mine.id, theirs.id]))

    await theirs.end()
    await mine.end()
  })

  test('an expired JWT raises the SDK TokenExpiredError', async () => {
    const isExpired = (e) => {
      assert.ok(e instanceof TokenExpiredError, `expected TokenExpiredError, got ${e?.name}: ${e?.message}`)
      assert.ok(e instanceof APIError)
      assert.equal(e.name, 'TokenExpiredError')
      assert.equal(typeof e.id, 'string')
      assert.ok(e.id.length > 0)
      // The SDK passes (id, status, message) to a constructor declared (id, message, status),
      // so status and message arrive swapped; check the pair, whichever way round.
      assert.deepEqual([String(e.status), String(e.message)].sort(), ['401', 'jwt expired'])
      return true
    }
    await assert.rejects(expired.users.current(), isExpired)
    await assert.rejects(expired.sessions.list(), isExpired)
    await assert.rejects(expired.sessions.create({ custom_data: { team } }), isExpired)
  })

  // Not through the SDK: in a browser every SDK call is preflighted (Authorization and the
  // X-Cobrowse* headers are not CORS-safelisted), which Node's fetch does not do for us.
  test('CORS: preflight allows the SDK headers and methods; responses carry the allow-origin', async () => {
    const origin = 'https://crm.example'
    const sdkHeaders = ['authorization', 'content-type', 'x-cobrowseapiversion', 'x-cobrowselicense',
      'x-cobrowseplatform', 'x-cobrowsesdkversion']
    for (const [method, path] of [['GET', '/api/1/sessions'], ['POST', '/api/1/sessions'], ['PUT', '/api/1/sessions/x'], ['GET', '/api/1/users/me']]) {
      const res = await fetch(new URL(path, base), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': sdkHeaders.join(',') }
      })
      assert.ok(res.status >= 200 && res.status < 300, `preflight ${method} ${path}: status ${res.status}`)
      assertAllowOrigin(res, origin)
      const methods = list(res.headers.get('access-control-allow-methods'))
      assert.ok(methods.includes('*') || methods.includes(method.toLowerCase()), `preflight allows ${method}: ${methods}`)
      const allowed = list(res.headers.get('access-control-allow-headers'))
      for (const h of sdkHeaders) {
        // a bare '*' never covers Authorization (Fetch standard)
        assert.ok(allowed.includes(h) || (allowed.includes('*') && h !== 'authorization'), `preflight allows ${h}: ${allowed}`)
      }
    }
    const headers = { Origin: origin, Authorization: `Bearer ${env.TANDEM_TOKEN}`, 'Content-Type': 'application/json' }
    const ok = await fetch(new URL('/api/1/users/me', base), { headers })
    assert.equal(ok.status, 200)
    assertAllowOrigin(ok, origin)
    assert.match(ok.headers.get('content-type') ?? '', /^application\/json/)
    // errors must be readable from the browser too, or the SDK sees a network error instead
    const refused = await fetch(new URL('/api/1/users/me', base), {
      headers: { ...headers, Authorization: `Bearer ${env.TANDEM_EXPIRED_TOKEN}` }
    })
    assert.equal(refused.status, 401)
    assertAllowOrigin(refused, origin)
    assert.match(refused.headers.get('content-type') ?? '', /^application\/json/)
  })

  test('an unknown session id or code is the SDK not-found error', async () => {
    const known = await admin.sessions.create({ custom_data: { team, step: 'unknown' }, agent: 'me' })

    // same shape as a real id (same length and character classes), but not one
    await assert.rejects(admin.sessions.get(lookalike(known.id)), apiError(404))

    // a well-formed code that no pending session of this account holds
    const pending = await admin.sessions.list({ agent: 'all', state: 'pending' })
    const codes = new Set(pending.map((s) => s.code))
    let code
    do code = String(Math.floor(Math.random() * 1e6)).padStart(6, '0')
    while (codes.has(code))
    await assert.rejects(admin.sessions.get(code), apiError(404))

    await known.end()
  })
}

// --- helpers ---

function ids (sessions) {
  assert.ok(Array.isArray(sessions), 'a list is an array')
  return sorted(sessions.map((s) => s.id))
}

function sorted (values) {
  return [...values].sort()
}

function assertDate (value, name) {
  assert.ok(value instanceof Date, `${name} is a Date`)
  assert.ok(!Number.isNaN(value.getTime()), `${name} is a valid date`)
}

function list (header) {
  return (header ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean)
}

function assertAllowOrigin (res, origin) {
  const allow = res.headers.get('access-control-allow-origin')
  assert.ok(allow === '*' || allow === origin, `access-control-allow-origin: ${allow}`)
}

// An assert.rejects validator for the SDK's APIError with the server's `{id, message}` body.
function apiError (status) {
  return (e) => {
    assert.ok(e instanceof APIError, `expected APIError ${status}, got ${e?.name}: ${e?.message}`)
    assert.ok(!(e instanceof TokenExpiredError), 'not a token-expired error')
    assert.equal(e.status, status)
    assert.equal(typeof e.id, 'string', 'error body has a string id')
    assert.ok(e.id.length > 0)
    assert.equal(typeof e.message, 'string', 'error body has a string message')
    assert.ok(e.message.length > 0)
    return true
  }
}

// The JWT payload, unverified: enough to learn `sub` and `iss`.
function claims (token) {
  const parts = token.split('.')
  assert.equal(parts.length, 3, 'a JWT has three parts')
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
}

// A different string with the same length and character classes as `id`.
function lookalike (id) {
  const last = id.at(-1)
  const cycle = (alphabet) => alphabet[(alphabet.indexOf(last) + 1) % alphabet.length]
  let next
  if (/[0-9]/.test(last)) next = cycle('0123456789')
  else if (/[a-f]/.test(last)) next = cycle('abcdef')
  else if (/[A-F]/.test(last)) next = cycle('ABCDEF')
  else if (/[a-z]/.test(last)) next = cycle('abcdefghijklmnopqrstuvwxyz')
  else if (/[A-Z]/.test(last)) next = cycle('ABCDEFGHIJKLMNOPQRSTUVWXYZ')
  else next = last === 'x' ? 'y' : 'x'
  return id.slice(0, -1) + next
}
