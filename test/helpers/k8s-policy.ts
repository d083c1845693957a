/**
 * Two Kubernetes admission and networking rules as pure functions over parsed manifests, for
 * test/unit/deploy-manifests.test.ts: the Pod Security Standards "restricted" profile (written from the
 * policy text at kubernetes.io/docs/concepts/security/pod-security-standards, baseline controls included,
 * since restricted is baseline plus its own), and NetworkPolicy evaluation (is a connection allowed?).
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML

/** Volume types the restricted profile allows ("Volume Types"). */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
/** The baseline profile's "safe" sysctls. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Every rule of the "restricted" profile a pod spec breaks, one line each; empty when it passes. */
export function restrictedViolations(spec: Obj): string[] {
  const v: string[] = [];
  const podSc = (spec.securityContext ?? {}) as Obj;
  const containers = [
    ...((spec.containers ?? []) as Obj[]),
    ...((spec.initContainers ?? []) as Obj[]),
    ...((spec.ephemeralContainers ?? []) as Obj[]),
  ];
  // Baseline.
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC'])
    if (spec[ns] === true) v.push(`host namespaces: ${ns}`);
  if (podSc.windowsOptions?.hostProcess === true) v.push('HostProcess: pod');
  for (const vol of (spec.volumes ?? []) as Obj[]) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (vol.hostPath) v.push(`hostPath volume ${vol.name}`);
    else if (!type || !RESTRICTED_VOLUMES.has(type)) v.push(`volume ${vol.name}: type ${type} not allowed`);
  }
  for (const s of (podSc.sysctls ?? []) as Array<{ name: string }>)
    if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name}`);
  // Restricted, at the pod level.
  if (podSc.runAsUser === 0) v.push('runAsUser 0: pod');
  const podSeccomp = podSc.seccompProfile?.type as string | undefined;
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost')
    v.push(`seccomp ${podSeccomp}: pod`);
  const seLinux = (sc: Obj, who: string) => {
    const o = sc.seLinuxOptions as Obj | undefined;
    if (o?.type !== undefined && !SELINUX_TYPES.has(o.type)) v.push(`SELinux type ${o.type}: ${who}`);
    if (o?.user !== undefined || o?.role !== undefined) v.push(`SELinux user/role: ${who}`);
  };
  seLinux(podSc, 'pod');
  const appArmor = (sc: Obj, who: string) => {
    const t = sc.appArmorProfile?.type as string | undefined;
    if (t !== undefined && t !== 'RuntimeDefault' && t !== 'Localhost') v.push(`AppArmor ${t}: ${who}`);
  };
  appArmor(podSc, 'pod');

  for (const c of containers) {
    const who = `container ${c.name}`;
    const sc = (c.securityContext ?? {}) as Obj;
    if (sc.privileged === true) v.push(`privileged: ${who}`);
    if (sc.windowsOptions?.hostProcess === true) v.push(`HostProcess: ${who}`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`procMount ${sc.procMount}: ${who}`);
    seLinux(sc, who);
    appArmor(sc, who);
    for (const p of (c.ports ?? []) as Obj[])
      if (p.hostPort !== undefined && p.hostPort !== 0) v.push(`hostPort ${p.hostPort}: ${who}`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`allowPrivilegeEscalation not false: ${who}`);
    // runAsNonRoot: true at the pod level and not overridden with false, or true in the container.
    const nonRoot = (sc.runAsNonRoot ?? podSc.runAsNonRoot) as boolean | undefined;
    if (nonRoot !== true) v.push(`runAsNonRoot not true: ${who}`);
    if (sc.runAsUser === 0) v.push(`runAsUser 0: ${who}`);
    const seccomp = (sc.seccompProfile?.type ?? podSeccomp) as string | undefined;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      v.push(`seccomp ${seccomp ?? 'unset'}: ${who}`);
    const caps = (sc.capabilities ?? {}) as { drop?: string[]; add?: string[] };
    if (!(caps.drop ?? []).includes('ALL')) v.push(`capabilities: ${who} does not drop ALL`);
    for (const a of caps.add ?? []) if (a !== 'NET_BIND_SERVICE') v.push(`capability ${a} added: ${who}`);
  }
  return v;
}

/** A pod that can be the source or destination of a connection. */
export interface PodRef {
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  /** Container ports, by name and number (destinations only). */
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
}
/** A source outside the cluster (a viewer, a publisher). */
export const EXTERNAL = 'external' as const;
type Peer = PodRef | typeof EXTERNAL;

const selects = (sel: Obj | undefined, labels: Record<string, string>) =>
  Object.entries((sel?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v) &&
  ((sel?.matchExpressions ?? []) as unknown[]).length === 0;

function peerMatches(peer: Obj, other: Peer, policyNs: string): boolean {
  if (peer.ipBlock) return other === EXTERNAL; // only 0.0.0.0/0-style blocks are meant here
  if (other === EXTERNAL) return false;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, other.namespaceLabels)) return false;
  } else if (other.namespace !== policyNs) return false;
  return peer.podSelector ? selects(peer.podSelector, other.labels) : true;
}

function portMatches(rulePorts: Obj[] | undefined, dst: Peer, port: number, protocol: string): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return p.port === port;
    // A named port resolves against the destination pod's containers.
    if (dst === EXTERNAL) return false;
    return (dst.ports ?? []).some(
      (cp) => cp.name === p.port && cp.containerPort === port && (cp.protocol ?? 'TCP') === protocol,
    );
  });
}

/** One direction of a connection: do the policies on `self` let it through? */
function sideAllows(
  policies: Obj[],
  self: PodRef,
  other: Peer,
  dir: 'Ingress' | 'Egress',
  dst: Peer,
  port: number,
  protocol: string,
): boolean {
  const applying = policies.filter(
    (p) =>
      (p.metadata.namespace ?? self.namespace) === self.namespace &&
      selects(p.spec.podSelector, self.labels) &&
      ((p.spec.policyTypes ?? ['Ingress']) as string[]).includes(dir),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    ((dir === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some((rule: Obj) => {
      const peers = (dir === 'Ingress' ? rule.from : rule.to) as Obj[] | undefined;
      const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, other, self.namespace));
      return peerOk && portMatches(rule.ports as Obj[] | undefined, dst, port, protocol);
    }),
  );
}

/**
 * Whether `policies` (all in the pods' namespace) allow a TCP/UDP connection from `src` to `dst` on the
 * destination's `port`: the source's egress and the destination's ingress must both allow it. Pods of
 * other namespaces are taken to have no policies of their own.
 */
export function connectionAllowed(
  policies: Obj[],
  src: Peer,
  dst: Peer,
  port: number,
  protocol = 'TCP',
  policyNamespace = 'tiercast',
): boolean {
  const inScope = (p: Peer): p is PodRef => p !== EXTERNAL && p.namespace === policyNamespace;
  const out = !inScope(src) || sideAllows(policies, src, dst, 'Egress', dst, port, protocol);
  const inn = !inScope(dst) || sideAllows(policies, dst, src, 'Ingress', dst, port, protocol);
  return out && inn;
}
