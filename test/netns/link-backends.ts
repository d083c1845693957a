/**
 * How the test hosts of netns.ts are linked. Two backends with one interface:
 *
 * - BridgeLinks: a kernel bridge `br0` in a namespace of its own (`tcns-<run>-sw`), one veth pair per host
 *   (`eth0` in the host, `p<i>` on the bridge) and one for the test process (`tcns-<run>` in the root
 *   namespace, the gateway address). Delay and loss are `tc netem` on the host's eth0 (its egress); a cut
 *   sets the bridge-side end down, so the host's eth0 loses carrier and nothing crosses in either direction.
 *   The bridge has a namespace of its own so that deleting that one namespace removes the bridge and every
 *   veth pair at once, and so that the root namespace's firewall (br_netfilter) never sees the test traffic.
 * - TunLinks: for kernels without sch_netem. Each host's eth0 is a TUN device owned by tun-switch.py, which
 *   forwards IPv4 packets by destination address and applies the same per-host egress delay, loss and cut.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { IP, TC, sh } from './shell.js';

export interface Impairment {
  /** One-way delay added to everything the host sends, in ms. */
  delayMs?: number;
  /** Share of the host's outgoing packets dropped at random, in percent. */
  lossPct?: number;
}

export interface LinkSpec {
  /** Name prefix of this run: `tcns-<run>`. */
  base: string;
  gateway: string;
  prefixLen: number;
  hosts: Array<{ ns: string; address: string; index: number }>;
}

export interface Links {
  readonly kind: 'bridge' | 'tun';
  readonly canImpair: boolean;
  setUp(): Promise<void>;
  impair(index: number, imp: Impairment): Promise<void>;
  cut(index: number, cut: boolean): Promise<void>;
  stats(): Promise<Record<string, number> | undefined>;
  /** Synchronous and idempotent (it also runs at process exit). */
  close(): void;
}

function hostOf(spec: LinkSpec, index: number): { ns: string; address: string; index: number } {
  const h = spec.hosts[index];
  if (!h) throw new Error(`netns: no host with index ${index}`);
  return h;
}

function checkImpairment(imp: Impairment): { delayMs: number; lossPct: number } {
  const delayMs = imp.delayMs ?? 0;
  const lossPct = imp.lossPct ?? 0;
  if (!(delayMs >= 0 && delayMs <= 10_000) || !(lossPct >= 0 && lossPct <= 100)) {
    throw new Error(`netns: impairment out of range: delay ${delayMs} ms, loss ${lossPct} %`);
  }
  return { delayMs, lossPct };
}

export class BridgeLinks implements Links {
  readonly kind = 'bridge';
  readonly switchNs: string;
  private readonly rootLink: string;

  constructor(
    private readonly spec: LinkSpec,
    readonly canImpair: boolean,
  ) {
    this.switchNs = `${spec.base}-sw`;
    this.rootLink = spec.base;
  }

  setUp(): Promise<void> {
    const sw = this.switchNs;
    sh(IP, ['netns', 'add', sw]);
    sh(IP, ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(IP, ['-n', sw, 'link', 'set', 'br0', 'up']);
    sh(IP, ['link', 'add', this.rootLink, 'type', 'veth', 'peer', 'name', 'p-root', 'netns', sw]);
    sh(IP, ['-n', sw, 'link', 'set', 'p-root', 'master', 'br0', 'up']);
    sh(IP, ['addr', 'add', `${this.spec.gateway}/${this.spec.prefixLen}`, 'dev', this.rootLink]);
    sh(IP, ['link', 'set', this.rootLink, 'up']);
    for (const h of this.spec.hosts) {
      sh(IP, ['-n', sw, 'link', 'add', `p${h.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
      sh(IP, ['-n', sw, 'link', 'set', `p${h.index}`, 'master', 'br0', 'up']);
      sh(IP, ['-n', h.ns, 'addr', 'add', `${h.address}/${this.spec.prefixLen}`, 'dev', 'eth0']);
      sh(IP, ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
    }
    return Promise.resolve();
  }

  impair(index: number, imp: Impairment): Promise<void> {
    const { delayMs, lossPct } = checkImpairment(imp);
    const h = hostOf(this.spec, index);
    if (delayMs === 0 && lossPct === 0) {
      sh(TC, ['-n', h.ns, 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFail: true });
      return Promise.resolve();
    }
    if (!this.canImpair) {
      return Promise.reject(
        new Error(
          'netns: this kernel has no sch_netem: use the TUN links (TIERCAST_TEST_NETNS_LINKS=tun or auto)',
        ),
      );
    }
    sh(TC, [
      '-n',
      h.ns,
      'qdisc',
      'replace',
      'dev',
      'eth0',
      'root',
      'netem',
      'delay',
      `${delayMs}ms`,
      'loss',
      `${lossPct}%`,
    ]);
    return Promise.resolve();
  }

  cut(index: number, cut: boolean): Promise<void> {
    hostOf(this.spec, index);
    sh(IP, ['-n', this.switchNs, 'link', 'set', `p${index}`, cut ? 'down' : 'up']);
    return Promise.resolve();
  }

  stats(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  close(): void {
    // Deleting the switch namespace (done by the caller) removes the veth pairs; this catches the root end
    // if setup failed before its peer moved.
    sh(IP, ['link', 'del', this.rootLink], { allowFail: true });
  }
}

interface SwitchReply {
  id?: number;
  ok?: boolean;
  error?: string;
  ready?: boolean;
  stats?: Record<string, number>;
  queued?: number;
}

export class TunLinks implements Links {
  readonly kind = 'tun';
  readonly canImpair = true;
  private proc: ChildProcessWithoutNullStreams | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: SwitchReply) => void>();
  private readonly state = new Map<number, { delayMs: number; lossPct: number; cut: boolean }>();
  private stderr = '';
  private readonly rootDev: string;

  constructor(private readonly spec: LinkSpec) {
    this.rootDev = `${spec.base}-r`;
  }

  private dev(index: number): string {
    return `${this.spec.base}-${index}`;
  }

  async setUp(): Promise<void> {
    const script = fileURLToPath(new URL('./tun-switch.py', import.meta.url));
    const proc = spawn('python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    let ready: ((ok: boolean) => void) | undefined;
    const isReady = new Promise<boolean>((resolve) => (ready = resolve));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg: SwitchReply;
      try {
        msg = JSON.parse(line) as SwitchReply;
      } catch {
        return;
      }
      if (msg.ready) ready?.(true);
      if (msg.id !== undefined) {
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
      }
    });
    proc.once('exit', () => {
      ready?.(false);
      for (const w of this.waiting.values()) w({ error: `tun-switch exited: ${this.stderr.trim()}` });
      this.waiting.clear();
    });
    const ports = [
      { dev: this.rootDev, addr: this.spec.gateway },
      ...this.spec.hosts.map((h) => ({ dev: this.dev(h.index), addr: h.address })),
    ];
    proc.stdin.write(`${JSON.stringify({ ports })}\n`);
    const timer = setTimeout(() => ready?.(false), 10_000);
    const ok = await isReady;
    clearTimeout(timer);
    if (!ok) throw new Error(`netns: tun-switch.py did not start: ${this.stderr.trim() || 'no output'}`);
    sh(IP, ['addr', 'add', `${this.spec.gateway}/${this.spec.prefixLen}`, 'dev', this.rootDev]);
    sh(IP, ['link', 'set', this.rootDev, 'up']);
    for (const h of this.spec.hosts) {
      // The switch keeps the device's fd when the device moves into the host's namespace.
      sh(IP, ['link', 'set', 'dev', this.dev(h.index), 'netns', h.ns]);
      sh(IP, ['-n', h.ns, 'link', 'set', 'dev', this.dev(h.index), 'name', 'eth0']);
      sh(IP, ['-n', h.ns, 'addr', 'add', `${h.address}/${this.spec.prefixLen}`, 'dev', 'eth0']);
      sh(IP, ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      this.state.set(h.index, { delayMs: 0, lossPct: 0, cut: false });
    }
  }

  private async request(msg: Record<string, unknown>): Promise<SwitchReply> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`netns: tun-switch is not running: ${this.stderr.trim()}`);
    const id = this.nextId++;
    const reply = new Promise<SwitchReply>((resolve) => this.waiting.set(id, resolve));
    proc.stdin.write(`${JSON.stringify({ ...msg, id })}\n`);
    const r = await reply;
    if (r.error) throw new Error(`netns: tun-switch: ${r.error}`);
    return r;
  }

  private async apply(
    index: number,
    change: Partial<{ delayMs: number; lossPct: number; cut: boolean }>,
  ): Promise<void> {
    const h = hostOf(this.spec, index);
    const s = { ...(this.state.get(index) ?? { delayMs: 0, lossPct: 0, cut: false }), ...change };
    await this.request({ op: 'set', addr: h.address, ...s });
    this.state.set(index, s);
  }

  impair(index: number, imp: Impairment): Promise<void> {
    return this.apply(index, checkImpairment(imp));
  }

  cut(index: number, cut: boolean): Promise<void> {
    return this.apply(index, { cut });
  }

  async stats(): Promise<Record<string, number> | undefined> {
    const r = await this.request({ op: 'stats' });
    return { ...r.stats, queued: r.queued ?? 0 };
  }

  close(): void {
    // The TUN devices are not persistent: they vanish with the switch's file descriptors.
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    sh(IP, ['link', 'del', this.rootDev], { allowFail: true });
  }
}
