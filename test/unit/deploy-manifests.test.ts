/**
 * The deployment files, checked without a Docker engine or a Kubernetes cluster (none runs here): every
 * Kubernetes object parses and is wired to the others (selectors, ports, probes, the secret); every node's
 * environment, in Kubernetes and in docker-compose, is accepted by that role's real config schema; no
 * literal secret is written anywhere; the Dockerfile copies only what .dockerignore lets through; the
 * image's health check answers for a healthy and an unhealthy node; every pod passes the Pod Security
 * "restricted" profile; the NetworkPolicies allow exactly the flows docs/deploy.md lists; the Ingress reaches
 * a Service port. Every object is validated against the Kubernetes OpenAPI schema (dev dependency
 * kubernetes-models); with Debian's docker-compose installed, `docker-compose config` must accept the
 * compose file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadRoleConfig, type Role } from '../../src/common/config/index.js';
import { run } from '../helpers/network.js';
import { EXTERNAL, connectionAllowed, restrictedViolations, type PodRef } from '../helpers/k8s-policy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = join(ROOT, 'deploy', 'k8s');
const COMPOSE = join(ROOT, 'deploy', 'docker-compose.yml');
const SECRET_NAME = /SECRET|PASSWORD|TOKEN|(^|_)KEY$/;
const ROLES = new Set(['hub', 'ingress', 'intermediate', 'edge']);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: unknown;
  };
}

const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
const objects: Array<{ file: string; o: Obj }> = files
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      return { file, o: d.toJS() as Obj };
    }),
  );
const workloads = objects.filter(({ o }) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const services = objects.filter(({ o }) => o.kind === 'Service');
const configMaps = new Map(
  objects
    .filter(({ o }) => o.kind === 'ConfigMap')
    .map(({ o }) => [o.metadata.name as string, o.data as Record<string, string>]),
);
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('kustomization lists every manifest and every object has apiVersion, kind and a DNS-1123 name', () => {
  const kust = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Obj;
  assert.equal(kust.namespace, 'tiercast');
  assert.deepEqual(
    [...(kust.resources as string[])].sort(),
    files.filter((f) => f !== 'kustomization.yaml').sort(),
  );
  assert.ok(objects.length >= 10);
  for (const { file, o } of objects) {
    assert.match(String(o.apiVersion), /^([a-z0-9.]+\/)?v\d+$/, `${file}: apiVersion`);
    assert.match(String(o.kind), /^[A-Z][A-Za-z]+$/, `${file}: kind`);
    assert.match(String(o.metadata?.name), /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${file}: ${o.kind} name`);
    assert.equal(
      o.metadata.labels?.['app.kubernetes.io/part-of'],
      'tiercast',
      `${file}: ${o.kind}/${o.metadata.name} part-of label`,
    );
  }
  const kinds = objects.map(({ o }) => `${o.kind}/${o.metadata.name}`).sort();
  for (const k of [
    'StatefulSet/tiercast-hub',
    'Deployment/tiercast-ingress',
    'Deployment/tiercast-intermediate',
    'Deployment/tiercast-edge',
    'Service/tiercast-rtmp',
    'Service/tiercast-edge',
  ]) {
    assert.ok(kinds.includes(k), `missing ${k}`);
  }
});

test('workloads: selectors match their pods; containers have images, named ports, /healthz probes, requests, no root', () => {
  for (const { file, o } of workloads) {
    const what = `${file}: ${o.kind}/${o.metadata.name}`;
    const pod = o.spec.template;
    assert.ok(
      matches(o.spec.selector.matchLabels, pod.metadata.labels),
      `${what}: selector does not match the pod labels`,
    );
    assert.equal(pod.spec.securityContext?.runAsNonRoot, true, `${what}: runAsNonRoot`);
    for (const c of pod.spec.containers as Obj[]) {
      assert.match(String(c.image), /^tiercast:/, `${what}: image`);
      assert.ok(ROLES.has(c.args?.[0]), `${what}: first argument is the role`);
      const ports = new Set((c.ports as Array<{ name: string }>).map((p) => p.name));
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        assert.equal(c[probe]?.httpGet?.path, '/healthz', `${what}: ${probe}`);
        assert.ok(
          ports.has(c[probe].httpGet.port),
          `${what}: ${probe} port ${c[probe].httpGet.port} is not a container port`,
        );
      }
      assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${what}: resource requests`);
      assert.ok(c.resources?.limits?.memory, `${what}: memory limit`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${what}: allowPrivilegeEscalation`);
    }
  }
});

test('services select an existing workload and target its container ports; RTMP is a TCP LoadBalancer on 1935', () => {
  for (const { file, o } of services) {
    const what = `${file}: Service/${o.metadata.name}`;
    const target = workloads.find(({ o: w }) => matches(o.spec.selector, w.spec.template.metadata.labels));
    assert.ok(target, `${what}: selects no workload`);
    const ports = new Set(
      (target.o.spec.template.spec.containers as Obj[]).flatMap((c) =>
        (c.ports as Array<{ name: string }>).map((p) => p.name),
      ),
    );
    for (const p of o.spec.ports as Array<{ targetPort: string }>)
      assert.ok(ports.has(p.targetPort), `${what}: targetPort ${p.targetPort}`);
  }
  const rtmp = services.find(({ o }) => o.metadata.name === 'tiercast-rtmp')!.o;
  assert.equal(rtmp.spec.type, 'LoadBalancer');
  assert.deepEqual(
    rtmp.spec.ports.map((p: Obj) => `${p.protocol}/${p.port}`),
    ['TCP/1935'],
  );
  const hub = workloads.find(({ o }) => o.kind === 'StatefulSet')!.o;
  const governing = services.find(({ o }) => o.metadata.name === hub.spec.serviceName)?.o;
  assert.equal(governing?.spec.clusterIP, 'None', 'the hub StatefulSet has a headless governing Service');
  const claim = hub.spec.volumeClaimTemplates[0].metadata.name as string;
  const c = hub.spec.template.spec.containers[0] as Obj;
  const mount = (c.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === claim)!;
  assert.equal(
    (c.env as EnvVar[]).find((e) => e.name === 'TIERCAST_DATA_DIR')?.value,
    mount.mountPath,
    'the hub keeps SQLite on its volume',
  );
});

test('Pod Security "restricted": the namespace enforces it and every pod passes its rules', () => {
  const ns = objects.find(({ o }) => o.kind === 'Namespace')!.o;
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  for (const { file, o } of workloads)
    assert.deepEqual(restrictedViolations(o.spec.template.spec), [], `${file}: ${o.kind}/${o.metadata.name}`);
  // The checker itself: one pod breaking each rule, one passing with seccomp set per container only.
  const bad = restrictedViolations({
    hostNetwork: true,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'Unconfined' } },
    volumes: [
      { name: 'h', hostPath: { path: '/' } },
      { name: 'n', nfs: { server: 'x', path: '/' } },
    ],
    containers: [
      {
        name: 'a',
        ports: [{ containerPort: 80, hostPort: 80 }],
        securityContext: { privileged: true, runAsNonRoot: false, capabilities: { add: ['SYS_ADMIN'] } },
      },
    ],
    initContainers: [{ name: 'b', securityContext: { allowPrivilegeEscalation: false, runAsUser: 0 } }],
  });
  for (const rule of [
    'host namespaces: hostNetwork',
    'hostPath volume h',
    'volume n: type nfs not allowed',
    'seccomp Unconfined: pod',
    'privileged: container a',
    'hostPort 80: container a',
    'allowPrivilegeEscalation not false: container a',
    'runAsNonRoot not true: container a',
    'capabilities: container a does not drop ALL',
    'capability SYS_ADMIN added: container a',
    'runAsUser 0: container b',
  ])
    assert.ok(bad.includes(rule), `the checker missed "${rule}" (found: ${bad.join('; ')})`);
  const sc = {
    allowPrivilegeEscalation: false,
    seccompProfile: { type: 'RuntimeDefault' },
    capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
  };
  assert.deepEqual(
    restrictedViolations({
      securityContext: { runAsNonRoot: true },
      containers: [{ name: 'c', securityContext: sc }],
    }),
    [],
  );
});

const policies = objects.filter(({ o }) => o.kind === 'NetworkPolicy');
const podOf = (workload: string): PodRef => {
  const w =
    workloads.find(({ o }) => o.metadata.name === workload)?.o ?? assert.fail(`no workload ${workload}`);
  return {
    namespace: 'tiercast',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'tiercast' },
    labels: w.spec.template.metadata.labels,
    ports: (w.spec.template.spec.containers as Obj[]).flatMap((c) => c.ports as PodRef['ports'] & object),
  };
};
/** A pod's named container port, as a number. */
const portOf = (pod: PodRef, name: string) =>
  pod.ports!.find((p) => p.name === name)?.containerPort ?? assert.fail(`no port ${name}`);

test('network policies select existing pods and name ports those pods declare', () => {
  assert.ok(policies.length >= 5);
  const pods = workloads.map(({ o }) => podOf(o.metadata.name));
  const selected = (sel: Obj) => pods.filter((p) => matches(sel.matchLabels ?? {}, p.labels));
  assert.ok(
    policies.some(({ o }) => Object.keys(o.spec.podSelector).length === 0 && o.spec.policyTypes.length === 2),
    'a default deny for ingress and egress',
  );
  for (const { file, o } of policies) {
    const what = `${file}: NetworkPolicy/${o.metadata.name}`;
    const targets = selected(o.spec.podSelector);
    assert.ok(targets.length > 0, `${what}: selects no pod`);
    for (const rule of (o.spec.ingress ?? []) as Obj[])
      for (const p of (rule.ports ?? []) as Obj[]) {
        assert.equal(typeof p.port, 'string', `${what}: ingress ports to tiercast pods are named`);
        for (const t of targets)
          assert.ok(
            t.ports!.some((cp) => cp.name === p.port),
            `${what}: ${t.labels['app.kubernetes.io/name']} declares no port ${p.port}`,
          );
      }
    for (const rule of [...((o.spec.ingress ?? []) as Obj[]), ...((o.spec.egress ?? []) as Obj[])]) {
      for (const peer of [...((rule.from ?? []) as Obj[]), ...((rule.to ?? []) as Obj[])]) {
        if (peer.namespaceSelector || !peer.podSelector) continue; // another namespace, or an ipBlock
        const peerPods = selected(peer.podSelector);
        assert.ok(peerPods.length > 0, `${what}: a peer selects no pod`);
        if (rule.to)
          for (const p of (rule.ports ?? []) as Obj[])
            for (const t of peerPods)
              assert.ok(
                t.ports!.some((cp) => cp.name === p.port),
                `${what}: egress to ${t.labels['app.kubernetes.io/name']} names port ${p.port} it does not declare`,
              );
      }
    }
  }
});

test('network policies allow exactly the documented flows', () => {
  const np = policies.map(({ o }) => o);
  const [hub, ingress, intermediate, edge] = [
    'tiercast-hub',
    'tiercast-ingress',
    'tiercast-intermediate',
    'tiercast-edge',
  ].map(podOf) as [PodRef, PodRef, PodRef, PodRef];
  const prometheus: PodRef = {
    namespace: 'monitoring',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    labels: { 'app.kubernetes.io/name': 'prometheus' },
  };
  const stranger: PodRef = {
    ...prometheus,
    namespace: 'default',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'default' },
  };
  const dns: PodRef = {
    namespace: 'kube-system',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
    labels: { 'k8s-app': 'kube-dns' },
  };
  const consul: PodRef = {
    namespace: 'consul',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'consul' },
    labels: { app: 'consul', component: 'server' },
  };
  const http = (p: PodRef) => portOf(p, 'http');
  const flows: Array<[string, boolean, boolean]> = [
    ['viewers reach edges', connectionAllowed(np, EXTERNAL, edge, http(edge)), true],
    ['publishers reach RTMP', connectionAllowed(np, EXTERNAL, ingress, portOf(ingress, 'rtmp')), true],
    ['the ingress HTTP port is not public', connectionAllowed(np, EXTERNAL, ingress, http(ingress)), false],
    [
      'intermediates are not public',
      connectionAllowed(np, EXTERNAL, intermediate, http(intermediate)),
      false,
    ],
    ['the hub is not public', connectionAllowed(np, EXTERNAL, hub, http(hub)), false],
    ['intermediate -> ingress /cluster', connectionAllowed(np, intermediate, ingress, http(ingress)), true],
    [
      'intermediate -> intermediate',
      connectionAllowed(np, intermediate, intermediate, http(intermediate)),
      true,
    ],
    ['edge -> intermediate', connectionAllowed(np, edge, intermediate, http(intermediate)), true],
    ['edge -> ingress (no intermediate up)', connectionAllowed(np, edge, ingress, http(ingress)), true],
    ['ingress -> hub', connectionAllowed(np, ingress, hub, http(hub)), true],
    ['edge -> hub', connectionAllowed(np, edge, hub, http(hub)), true],
    ['intermediate -> hub', connectionAllowed(np, intermediate, hub, http(hub)), false],
    ['hub -> ingress', connectionAllowed(np, hub, ingress, http(ingress)), false],
    ['ingress -> intermediate', connectionAllowed(np, ingress, intermediate, http(intermediate)), false],
    ['edge -> edge', connectionAllowed(np, edge, edge, http(edge)), false],
    ['a pod of another namespace -> hub', connectionAllowed(np, stranger, hub, http(hub)), false],
    ['edges call nothing outside', connectionAllowed(np, edge, EXTERNAL, 443), false],
  ];
  for (const p of [hub, ingress, intermediate, edge]) {
    const name = p.labels['app.kubernetes.io/name']!;
    flows.push(
      [`Prometheus scrapes ${name}`, connectionAllowed(np, prometheus, p, http(p)), true],
      [
        `another namespace cannot scrape ${name}`,
        connectionAllowed(np, stranger, p, http(p)),
        name === 'tiercast-edge',
      ],
      [`${name} resolves names`, connectionAllowed(np, p, dns, 53, 'UDP'), true],
      [`${name} reaches Consul`, connectionAllowed(np, p, consul, 8500), true],
    );
  }
  const wrong = flows
    .filter(([, got, want]) => got !== want)
    .map(([what, got]) => `${what}: ${got ? 'allowed' : 'denied'}`);
  assert.deepEqual(wrong, []);
});

test('the edge Ingress: TLS, an existing Service port, unbuffered, WebSocket timeouts', () => {
  const ingresses = objects.filter(({ o }) => o.kind === 'Ingress');
  assert.ok(ingresses.length > 0);
  for (const { file, o } of ingresses) {
    const what = `${file}: Ingress/${o.metadata.name}`;
    const a = o.metadata.annotations as Record<string, string>;
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-buffering'], 'off', `${what}: proxy-buffering`);
    for (const t of ['read', 'send'])
      assert.ok(
        Number(a[`nginx.ingress.kubernetes.io/proxy-${t}-timeout`]) >= 60,
        `${what}: proxy-${t}-timeout`,
      );
    const tlsHosts = (o.spec.tls as Array<{ hosts: string[]; secretName: string }>).flatMap((t) => {
      assert.match(t.secretName, /^[a-z0-9-]+$/, `${what}: tls secretName`);
      return t.hosts;
    });
    for (const rule of o.spec.rules as Obj[]) {
      assert.ok(tlsHosts.includes(rule.host), `${what}: ${rule.host} has no TLS`);
      for (const path of rule.http.paths as Obj[]) {
        const b = path.backend.service as { name: string; port: { name?: string; number?: number } };
        const svc = services.find(({ o: s }) => s.metadata.name === b.name)?.o;
        assert.ok(svc, `${what}: no Service ${b.name}`);
        assert.ok(
          (svc.spec.ports as Obj[]).some((p) =>
            b.port.name ? p.name === b.port.name : p.port === b.port.number,
          ),
          `${what}: Service ${b.name} has no port ${b.port.name ?? b.port.number}`,
        );
      }
    }
  }
});

test('no literal secret: secret-looking variables come from the tiercast-cluster Secret, created as documented', () => {
  for (const [name, data] of configMaps)
    for (const k of Object.keys(data)) assert.doesNotMatch(k, SECRET_NAME, `ConfigMap ${name} holds ${k}`);
  assert.ok(
    !objects.some(({ o }) => o.kind === 'Secret'),
    'Secrets are created with kubectl, never committed',
  );
  for (const { o } of workloads) {
    for (const c of o.spec.template.spec.containers as Obj[]) {
      for (const e of c.env as EnvVar[]) {
        if (!SECRET_NAME.test(e.name)) continue;
        assert.equal(e.value, undefined, `${o.metadata.name}: ${e.name} is a literal`);
        assert.deepEqual(e.valueFrom?.secretKeyRef, { name: 'tiercast-cluster', key: 'cluster-secret' });
      }
    }
  }
  const howTo = 'kubectl -n tiercast create secret generic tiercast-cluster';
  assert.ok(readFileSync(join(K8S, 'namespace.yaml'), 'utf8').includes(howTo));
  assert.ok(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8').includes(howTo));
});

/** A container's environment as the kubelet would set it (fieldRefs and secrets given plausible values). */
function podEnv(workload: Obj, c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (c.envFrom ?? []) as Array<{ configMapRef: { name: string } }>) {
    const data = configMaps.get(from.configMapRef.name);
    assert.ok(data, `${workload.metadata.name}: ConfigMap ${from.configMapRef.name} does not exist`);
    Object.assign(env, data);
  }
  const field: Record<string, string> = {
    'metadata.name': `${workload.metadata.name}-7d9f8b6c5d-x2kq4`,
    'status.podIP': '10.244.1.17',
  };
  for (const e of c.env as EnvVar[]) {
    if (e.valueFrom?.secretKeyRef) env[e.name] = 'a-cluster-secret-from-kubectl';
    else if (e.valueFrom?.fieldRef)
      env[e.name] =
        field[e.valueFrom.fieldRef.fieldPath] ??
        assert.fail(`unexpected fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
    else
      env[e.name] = (e.value ?? '').replace(
        /\$\((\w+)\)/g,
        (_, v: string) => env[v] ?? assert.fail(`$(${v}) used before it is defined`),
      );
  }
  return env;
}

for (const { o } of workloads) {
  test(`k8s ${o.metadata.name}: its environment is a valid ${o.spec.template.spec.containers[0].args[0]} config`, () => {
    for (const c of o.spec.template.spec.containers as Obj[]) {
      const env = podEnv(o, c);
      // POD_IP is only an input to $(POD_IP); everything else must be a TIERCAST_ key the schema accepts.
      assert.deepEqual(
        Object.keys(env).filter((k) => !k.startsWith('TIERCAST_') && k !== 'POD_IP'),
        [],
      );
      assert.doesNotThrow(
        () => loadRoleConfig(c.args[0] as Role, { env }),
        (err: Error) => assert.fail(err.message),
      );
    }
  });
}

test('k8s objects validate against the Kubernetes OpenAPI schema (kubernetes-models)', async () => {
  const load = async (
    path: string,
  ): Promise<Record<string, new (o: unknown) => { validate(): void }> | undefined> => {
    try {
      return (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
    } catch {
      return undefined;
    }
  };
  assert.ok(await load('kubernetes-models/v1/Namespace'), 'dev dependency kubernetes-models: run npm ci');
  const validated = new Set<string>();
  for (const { file, o } of objects) {
    const [group, version] = String(o.apiVersion).includes('/')
      ? String(o.apiVersion).split('/')
      : ['', String(o.apiVersion)];
    const mod = await load(`kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`);
    const Model = mod?.[o.kind as string];
    assert.ok(Model, `${file}: no model for ${o.apiVersion} ${o.kind}`);
    assert.doesNotThrow(
      () => new Model(o).validate(),
      (err: Error) => assert.fail(`${file}: ${o.kind}/${o.metadata.name}: ${err.message}`),
    );
    validated.add(String(o.kind));
  }
  for (const kind of [
    'Namespace',
    'ConfigMap',
    'Service',
    'Deployment',
    'StatefulSet',
    'NetworkPolicy',
    'Ingress',
  ])
    assert.ok(validated.has(kind), `no ${kind} was validated`);
  // The validator rejects what the API server would: a port that is neither a number nor a name.
  const { NetworkPolicy } = (await load('kubernetes-models/networking.k8s.io/v1/NetworkPolicy'))!;
  const broken = structuredClone(policies.find(({ o }) => o.spec.ingress)!.o);
  broken.spec.ingress[0].ports[0].port = { name: 'http' };
  assert.throws(() => new NetworkPolicy!(broken).validate());
});

/** docker-compose's ${VAR}, ${VAR:-default} and ${VAR:?message} interpolation. */
function interpolate(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v) return v;
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

const compose = parseYaml(readFileSync(COMPOSE, 'utf8'), { merge: true }) as {
  services: Record<string, Obj>;
};
const composeVars = {
  TIERCAST_CLUSTER_SECRET: 'a-secret-from-deploy-env',
  GRAFANA_ADMIN_PASSWORD: 'from-deploy-env',
};
const nodeServices = Object.entries(compose.services).filter(([, s]) => ROLES.has(s.command?.[0]));

test('compose: Consul, a hub with a volume, an ingress, two intermediates, two edges, Prometheus and Grafana', () => {
  const roles = nodeServices.map(([, s]) => s.command[0] as string).sort();
  assert.deepEqual(roles, ['edge', 'edge', 'hub', 'ingress', 'intermediate', 'intermediate']);
  for (const name of ['consul', 'prometheus', 'grafana'])
    assert.ok(compose.services[name], `service ${name}`);
  assert.ok((compose.services.hub!.volumes as string[]).some((v) => v.endsWith(':/var/lib/tiercast')));
  assert.ok((compose.services.ingress!.ports as string[]).includes('1935:1935'));
  for (const [name, s] of Object.entries(compose.services)) {
    for (const v of (s.volumes ?? []) as string[]) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.'))
        assert.ok(existsSync(resolve(dirname(COMPOSE), src)), `${name}: mounts missing ${src}`);
    }
  }
});

test('compose: no literal secret; the secrets must come from deploy/.env or the shell', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const [k, v] of Object.entries((s.environment ?? {}) as Record<string, string>)) {
      if (SECRET_NAME.test(k))
        assert.match(String(v), /^\$\{\w+:\?[^}]+\}$/, `${name}: ${k} must be \${VAR:?…}`);
    }
  }
  assert.throws(
    () => interpolate(String(compose.services.hub!.environment.TIERCAST_CLUSTER_SECRET), {}),
    /TIERCAST_CLUSTER_SECRET/,
  );
  assert.match(readFileSync(join(ROOT, 'deploy', '.gitignore'), 'utf8'), /^\.env$/m);
});

for (const [name, s] of nodeServices) {
  test(`compose ${name}: its environment is a valid ${s.command[0]} config`, () => {
    const env = Object.fromEntries(
      Object.entries((s.environment ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        interpolate(String(v), composeVars),
      ]),
    );
    assert.doesNotThrow(
      () => loadRoleConfig(s.command[0] as Role, { env }),
      (err: Error) => assert.fail(err.message),
    );
  });
}

const haveCompose = !spawnSync('docker-compose', ['version']).error;
test(
  'docker-compose config accepts the file, and refuses it without the cluster secret',
  { skip: haveCompose ? false : 'docker-compose not installed (Debian package docker-compose)' },
  async () => {
    const saved = { ...process.env };
    // An empty env file, so that a developer's own deploy/.env cannot satisfy the checks below.
    const envFile = join(mkdtempSync(join(tmpdir(), 'tiercast-compose-')), 'empty.env');
    writeFileSync(envFile, '');
    try {
      Object.assign(process.env, composeVars);
      const ok = await run('docker-compose', ['-f', COMPOSE, '--env-file', envFile, 'config', '--services']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(ok.stdout.trim().split('\n').sort(), Object.keys(compose.services).sort());
      delete process.env.TIERCAST_CLUSTER_SECRET;
      const refused = await run('docker-compose', ['-f', COMPOSE, '--env-file', envFile, 'config']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /set TIERCAST_CLUSTER_SECRET in deploy\/\.env/);
    } finally {
      process.env = saved;
    }
  },
);

test('Dockerfile: multi-stage, slim runtime with ffmpeg, non-root, health check, node-role entrypoint', () => {
  const df = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = [...df.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gm)].map((m) => `${m[2]}=${m[1]}`);
  assert.deepEqual(stages, [
    'build=node:${NODE_VERSION}-bookworm',
    'prod-deps=node:${NODE_VERSION}-bookworm',
    'runtime=node:${NODE_VERSION}-bookworm-slim',
  ]);
  const runtime = df.slice(df.indexOf('AS runtime'));
  assert.match(runtime, /apt-get install -y --no-install-recommends ffmpeg/);
  assert.match(runtime, /^USER node$/m);
  assert.match(runtime, /^HEALTHCHECK .* CMD \["node", "deploy\/docker\/healthcheck\.mjs"\]$/m);
  assert.match(runtime, /^ENTRYPOINT \["node", "bin\/node-role\.js"\]$/m);
  assert.ok(runtime.indexOf('USER node') < runtime.indexOf('ENTRYPOINT'));
});

test('Dockerfile: every file copied from the context exists and is not excluded by .dockerignore', () => {
  const df = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const sources = [...df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(sources.length >= 6);
  for (const src of sources) {
    assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: not in the repository`);
    for (const pattern of ignored) {
      const p = pattern.replace(/^\*\*\//, '');
      const hit = src === p || src.startsWith(`${p}/`) || (p.startsWith('*.') && src.endsWith(p.slice(1)));
      assert.ok(!hit, `COPY ${src} is excluded by .dockerignore (${pattern})`);
    }
  }
});

test('the image health check: 0 for a node answering /healthz, 1 for an error status or no answer', async () => {
  let status = 200;
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  // Asynchronous: the server above answers on this process's event loop.
  const check = (env: Record<string, string>) =>
    new Promise<number | null>((r) => {
      const p = spawn(process.execPath, [join(ROOT, 'deploy', 'docker', 'healthcheck.mjs')], {
        env: { PATH: process.env.PATH, ...env },
        stdio: 'ignore',
      });
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.on('exit', (code) => {
        clearTimeout(t);
        r(code);
      });
    });
  try {
    assert.equal(await check({ TIERCAST_HTTP__PORT: String(port) }), 0);
    assert.equal(await check({ HEALTHCHECK_URL: `http://127.0.0.1:${port}/healthz` }), 0);
    status = 503;
    assert.equal(await check({ TIERCAST_HTTP__PORT: String(port) }), 1);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.equal(await check({ TIERCAST_HTTP__PORT: String(port) }), 1, 'nothing listening');
});
