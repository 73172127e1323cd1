// Network modes (test/drivers/net.c): full lets everything through; loopback
// lets IP go only to 127.0.0.1 and ::1; none refuses IP connect, sendto, sendmsg
// and bind, while AF_UNIX keeps working. Refusals are EACCES and violations
// whose path is the address ("1.2.3.4:80", "[::1]:8080").
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals'
import {createSocket} from 'node:dgram'
import type {Socket as UdpSocket} from 'node:dgram'
import {mkdtempSync, rmSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import type {AddressInfo, Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BUILDS, runBare, runDriver, SUPERVISIONS, supervised, waitFor} from '../helpers/driver.js'
import type {DriverOutcome} from '../helpers/driver.js'
import {expectAllowed, expectCollected, expectDenied, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {NetworkMode} from '../../src/index.js'

/** A listening server that counts what reaches it. */
interface Listener {
  host: string
  port: number
  /** Connections accepted, or datagrams received (their text). */
  seen: string[]
  /**
   * Send a probe of our own and wait for it. The kernel queues in order, so once
   * the probe has arrived, anything the driver sent before it has arrived too.
   */
  probe: () => Promise<void>
  close: () => Promise<void>
}

/**
 * A stream server (TCP or unix). Each accepted connection is recorded as
 * "connection", in accept order; the probe identifies itself by what it sends.
 */
async function streamListener(host: string, listen: (server: Server, done: () => void) => void): Promise<Listener> {
  const accepted: {text: string}[] = []
  const seen: string[] = []
  const server: Server = createServer((socket) => {
    const entry = {text: ''}
    accepted.push(entry)
    seen.push('connection')
    socket.on('data', (data) => (entry.text += data.toString()))
    socket.on('error', () => {})
    socket.on('end', () => socket.destroy())
  })
  await new Promise<void>((resolve) => listen(server, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    host,
    port,
    seen,
    probe: async () => {
      const socket = port ? connect(port, host) : connect(host)
      socket.on('error', () => {})
      socket.end('probe')
      await waitFor(() => accepted.some((e) => e.text === 'probe'), `the probe connection to ${host}`)
      const i = accepted.findIndex((e) => e.text === 'probe')
      accepted.splice(i, 1)
      seen.splice(i, 1)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const tcpListener = (host: string) => streamListener(host, (server, done) => server.listen(0, host, done))

async function udpListener(host: string): Promise<Listener> {
  const seen: string[] = []
  const socket: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  socket.on('message', (msg) => seen.push(msg.toString()))
  await new Promise<void>((resolve) => socket.bind(0, host, resolve))
  const port = socket.address().port
  return {
    host,
    port,
    seen,
    probe: async () => {
      const sender = createSocket(host.includes(':') ? 'udp6' : 'udp4')
      sender.send('probe', port, host)
      await waitFor(() => seen.includes('probe'), `the probe datagram to ${host}`)
      sender.close()
      seen.splice(seen.indexOf('probe'), 1)
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

const unixListener = (path: string) => streamListener(path, (server, done) => server.listen(path, done))

let tcp4: Listener, tcp6: Listener, udp4: Listener, udp6: Listener, unix: Listener
let unixDir: string

beforeAll(async () => {
  unixDir = mkdtempSync(join(tmpdir(), 'catbox-net-'))
  ;[tcp4, tcp6, udp4, udp6, unix] = await Promise.all([
    tcpListener('127.0.0.1'),
    tcpListener('::1'),
    udpListener('127.0.0.1'),
    udpListener('::1'),
    unixListener(join(unixDir, 'server.sock')),
  ])
})

afterAll(async () => {
  await Promise.all([tcp4, tcp6, udp4, udp6, unix].filter(Boolean).map((l) => l.close()))
  rmSync(unixDir, {recursive: true, force: true})
})

const addr = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

async function net(build: (typeof BUILDS)[number], network: NetworkMode, args: string[], collectOnly = false) {
  const tmp = makeTmpDirs()
  return runDriver(tmp, {driver: 'net', build, args, network, collectOnly, cwd: tmp.base})
}

/** What reached the listener from the driver (after flushing with a probe). */
async function reached(l: Listener, before: number): Promise<string[]> {
  await l.probe()
  return l.seen.slice(before)
}

type Reach = {name: string; listener: () => Listener; args: (l: Listener) => string[]; operation: string; arrives: string}
const toLoopback: Reach[] = [
  {name: 'TCP connect to 127.0.0.1', listener: () => tcp4, args: (l) => ['connect', l.host, String(l.port), 'tcp'], operation: 'connect', arrives: 'connection'},
  {name: 'TCP connect to ::1', listener: () => tcp6, args: (l) => ['connect', l.host, String(l.port), 'tcp'], operation: 'connect', arrives: 'connection'},
  {name: 'UDP sendto 127.0.0.1', listener: () => udp4, args: (l) => ['sendto', l.host, String(l.port)], operation: 'sendto', arrives: 'catbox'},
  {name: 'UDP sendmsg to ::1', listener: () => udp6, args: (l) => ['sendmsg', l.host, String(l.port)], operation: 'sendmsg', arrives: 'catbox'},
]

describe.each(BUILDS)('%s build', (build) => {
  describe.each(['full', 'loopback'] as const)('network %s', (mode) => {
    test.each(toLoopback.map((r) => [r.name, r] as const))('%s is let through', async (_name, r) => {
      const l = r.listener()
      const before = l.seen.length
      const o = await net(build, mode, r.args(l))
      expectAllowed(o)
      expect(await reached(l, before)).toEqual([r.arrives])
    })

    test('bind to 127.0.0.1 is let through', async () => {
      expectAllowed(await net(build, mode, ['bind', '127.0.0.1', '0', 'tcp']))
    })

    test('bind to ::1 is let through', async () => {
      expectAllowed(await net(build, mode, ['bind', '::1', '0', 'udp']))
    })
  })

  describe('network full', () => {
    test('UDP connect to a remote address is not refused (no packet is sent)', async () => {
      const o = await net(build, 'full', ['connect', '1.2.3.4', '80', 'udp'])
      // Without a default route the kernel answers ENETUNREACH; either way, no violation.
      expect(['ok', 'err ENETUNREACH']).toContain(o.out)
      expect(o.result.violations).toEqual([])
    })
  })

  describe('network loopback', () => {
    const remote: [string, string[], string, string][] = [
      ['UDP connect to 1.2.3.4', ['connect', '1.2.3.4', '80', 'udp'], 'connect', '1.2.3.4:80'],
      ['UDP connect to 2001:db8::1', ['connect', '2001:db8::1', '80', 'udp'], 'connect', '[2001:db8::1]:80'],
      ['UDP sendto 1.2.3.4', ['sendto', '1.2.3.4', '80'], 'sendto', '1.2.3.4:80'],
      ['UDP sendmsg to 1.2.3.4', ['sendmsg', '1.2.3.4', '53'], 'sendmsg', '1.2.3.4:53'],
      ['bind to 0.0.0.0', ['bind', '0.0.0.0', '0', 'tcp'], 'bind', '0.0.0.0:0'],
      ['bind to ::', ['bind', '::', '0', 'udp'], 'bind', '[::]:0'],
    ]
    test.each(remote)('%s is refused and recorded', async (_name, args, operation, path) => {
      expectDenied(await net(build, 'loopback', args), {operation, path, canonical: ''})
    })
  })

  describe('network none', () => {
    test.each(toLoopback.map((r) => [r.name, r] as const))('%s is refused, recorded, and nothing arrives', async (_name, r) => {
      const l = r.listener()
      const before = l.seen.length
      const o = await net(build, 'none', r.args(l))
      expectDenied(o, {operation: r.operation, path: addr(l.host, l.port), canonical: ''})
      expect(await reached(l, before)).toEqual([])
    })

    test('bind to 127.0.0.1 is refused and recorded', async () => {
      expectDenied(await net(build, 'none', ['bind', '127.0.0.1', '0', 'tcp']), {
        operation: 'bind',
        path: '127.0.0.1:0',
        canonical: '',
      })
    })

    test('an AF_UNIX socketpair works', async () => {
      expectAllowed(await net(build, 'none', ['socketpair']))
    })

    test('connect to a unix socket works', async () => {
      const before = unix.seen.length
      expectAllowed(await net(build, 'none', ['unix_connect', unix.host]))
      expect(await reached(unix, before)).toEqual(['connection'])
    })

    test('bind of a unix socket inside the rules works', async () => {
      const tmp = makeTmpDirs()
      const path = join(tmp.allowed, 's')
      const o = await runDriver(tmp, {driver: 'fs_create', build, args: ['bind', path], network: 'none', cwd: tmp.base})
      expectAllowed(o)
      expect(fsState(path).kind).toBe('socket')
    })

    test('in collect-only mode a TCP connect to 127.0.0.1 happens and is recorded', async () => {
      const before = tcp4.seen.length
      const o: DriverOutcome = await net(build, 'none', ['connect', tcp4.host, String(tcp4.port), 'tcp'], true)
      expectCollected(o, {operation: 'connect', path: addr(tcp4.host, tcp4.port), canonical: ''})
      expect(await reached(tcp4, before)).toEqual(['connection'])
    })
  })
})

// Source routes: with IP_OPTIONS holding LSRR/SSRR, or an IPv6 routing
// header, a datagram "to 127.0.0.1" goes first to the route's first hop, an
// address the destination check never saw. Refused (EPERM, recorded) while
// the network is restricted, as socket options and as sendmsg control
// messages. Every address used here is a loopback one: the bare controls show
// the kernel accepts the options, and nothing is sent anywhere else.
describe('source routes and raw IP headers', () => {
  const isRoot = process.getuid!() === 0
  // Bare answers on this kernel: a user without CAP_NET_RAW gets EPERM for
  // IPv4 source routes; type 2 routing headers in control messages and in
  // IPV6_2292PKTOPTIONS need Mobile IPv6 built in (EINVAL without it). The
  // tests below compare with these answers instead of assuming them.
  const bare = (args: string[]) => runBare('net', args)
  const refused: [string, string[], string, string][] = [
    ['IP_OPTIONS with a loose source route', ['route', 'lsrr'], 'setsockopt', 'IP_OPTIONS source route'],
    ['IP_OPTIONS with a strict source route', ['route', 'ssrr'], 'setsockopt', 'IP_OPTIONS source route'],
    ['IPV6_RTHDR (a segment routing header)', ['route', 'rthdr'], 'setsockopt', 'IPV6_RTHDR'],
    ['IPV6_2292RTHDR', ['route', 'rthdr2292'], 'setsockopt', 'IPV6_2292RTHDR'],
    ['IPV6_2292PKTOPTIONS holding a routing header', ['route', 'pktoptions'], 'setsockopt', 'IPV6_2292PKTOPTIONS routing header'],
    ['sendmsg to 127.0.0.1 with an IP_RETOPTS source route', ['route_msg', '127.0.0.1', '9', 'lsrr'], 'sendmsg', 'source route (control message)'],
    ['sendmsg to ::1 with an IPV6_RTHDR control message', ['route_msg', '::1', '9', 'rthdr'], 'sendmsg', 'source route (control message)'],
  ]

  describe('bare, without catbox', () => {
    test('the kernel accepts IPv6 routing headers from anyone (IPV6_RTHDR, IPV6_2292RTHDR)', () => {
      expect([bare(['route', 'rthdr']), bare(['route', 'rthdr2292'])]).toEqual(['ok', 'ok'])
    })

    test(`IPv4 source routes: ${isRoot ? 'accepted, and sent by way of 127.0.0.2 (root)' : 'EPERM from the kernel (not root: CAP_NET_RAW)'}`, () => {
      const answer = isRoot ? 'ok' : 'err EPERM'
      expect([bare(['route', 'lsrr']), bare(['route', 'ssrr']), bare(['route_msg', '127.0.0.1', '9', 'lsrr'])]).toEqual([answer, answer, answer])
    })

    test(`raw IP sockets with a header of their own: ${isRoot ? 'made (root)' : 'EPERM from the kernel (not root: CAP_NET_RAW)'}`, () => {
      if (isRoot) {
        expect(['proto', 'proto6', 'hdrincl', 'hdrincl6'].map((k) => bare(['raw', k]))).toEqual(['ok', 'ok', 'ok', 'ok'])
      } else {
        expect(['proto', 'proto6'].map((k) => bare(['raw', k]))).toEqual(['err EPERM', 'err EPERM'])
      }
    })
  })

  describe.each(SUPERVISIONS)('%s', (...how) => {
    const route = (network: NetworkMode, args: string[]) => {
      const tmp = makeTmpDirs()
      return supervised(how, () => runDriver(tmp, {driver: 'net', args, network, cwd: tmp.base, ...how[1]}))
    }

    describe.each(['loopback', 'none'] as const)('network %s', (network) => {
      test.each(refused)('%s fails with EPERM and is recorded', async (_name, args, operation, path) => {
        const o = await route(network, args)
        expect({out: o.out, exitCode: o.result.exitCode}).toEqual({out: 'err EPERM', exitCode: 0})
        expect(how[2] ? o.result.stats.seccompStops : o.result.stats.notifications).toBeGreaterThan(0)
        expect(o.result.violations).toEqual([expect.objectContaining({operation, path, denied: true, error: 'EPERM'})])
      })

      test.each([
        ['IP_OPTIONS with record route (no route)', ['route', 'rr']],
        ['IPV6_RTHDR without a value (clears it)', ['route', 'clear']],
      ])('%s is answered as bare', async (_name, args) => {
        const o = await route(network, args)
        expect({out: o.out, violations: o.result.violations}).toEqual({out: bare(args), violations: []})
      })
    })

    test.each(refused)('network full: %s is answered as bare', async (_name, args) => {
      const o = await route('full', args)
      expect({out: o.out, violations: o.result.violations}).toEqual({out: bare(args), violations: []})
    })

    // A raw IP socket that writes its own header (IPPROTO_RAW, IP_HDRINCL,
    // IPV6_HDRINCL) sends the packet where its header says, whatever address
    // sendto names. Only root has raw sockets (CAP_NET_RAW).
    describe.each(['loopback', 'none'] as const)('network %s', (network) => {
      test.each([
        ['IPPROTO_RAW', 'proto'],
        ['IPv6 IPPROTO_RAW', 'proto6'],
      ])('a raw socket of protocol %s fails with EPERM (the kernel\'s answer to a user)', async (_name, kind) => {
        const o = await route(network, ['raw', kind])
        expect({out: o.out, violations: o.result.violations}).toEqual({out: 'err EPERM', violations: []})
      })

      ;(isRoot ? test.each : test.skip.each)([
        ['IP_HDRINCL', 'hdrincl'],
        ['IPV6_HDRINCL', 'hdrincl6'],
      ])('%s on a raw socket fails with EPERM and is recorded (root: a user has no raw socket)', async (name, kind) => {
        const o = await route(network, ['raw', kind])
        expect(o.out).toBe('err EPERM')
        expect(o.result.violations).toEqual([expect.objectContaining({operation: 'setsockopt', path: name, denied: true, error: 'EPERM'})])
      })

      // A packet socket sends whole frames, to any address. Refused in the
      // filter, without a stop: nothing is recorded (README, Network).
      test(`a packet socket fails with EACCES, not recorded (bare: ${isRoot ? 'root opens it' : 'EPERM for a user'})`, async () => {
        expect(bare(['raw', 'packet'])).toBe(isRoot ? 'ok' : 'err EPERM')
        const o = await route(network, ['raw', 'packet'])
        expect({out: o.out, violations: o.result.violations}).toEqual({out: 'err EACCES', violations: []})
      })

      test('a raw ICMP socket (as ping opens) is answered as bare', async () => {
        const o = await route(network, ['raw', 'icmp'])
        expect({out: o.out, violations: o.result.violations}).toEqual({out: bare(['raw', 'icmp']), violations: []})
      })
    })

    ;(isRoot ? test.each : test.skip.each)(['proto', 'proto6', 'hdrincl', 'hdrincl6', 'packet'])(
      'network full: raw %s is answered as bare (root)',
      async (kind) => {
        const o = await route('full', ['raw', kind])
        expect({out: o.out, violations: o.result.violations}).toEqual({out: 'ok', violations: []})
      },
    )
  })
})
