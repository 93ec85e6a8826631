/**
 * The layers of src/, enforced by test/unit/architecture.test.ts (and `npx depcruise src --config
 * .dependency-cruiser.cjs` by hand). A folder may import itself and the folders on the rows above it;
 * folders on one row do not import each other. The README's "Architecture" section draws the same table.
 */
const LAYERS = [
  ['core'], // versions, units, CIDR, node paths, problems, YAML for Go readers: pure, no I/O
  ['policy', 'tls'], // audit.k8s.io/v1 model, parse, validate, evaluate, lint; certificates
  ['detections', 'sink-contract'], // detection rule tables; what the sink program and its constructs share
  ['presets'], // compliance rule catalogue and requirement table
  ['backends', 'evidence', 'sink-server'], // flag sets and kubeconfig; report judging; the sink program
  ['control-plane'], // kubeadm, kind, static pod renderers
  ['gitops', 'alerts'], // the constructs an app composes: AuditPolicy, ClusterAudit, node files; alert rules
  ['sinks'], // sink constructs (cdk8s-plus-28); they check a ClusterAudit's policy, which never imports them
  ['testing'], // helpers for users' kind suites (I/O)
  ['cli'], // the cdk8s-audit command (I/O)
];

/** Only these import the sink program: it runs in its own container, apart from the constructs. */
const SINK_SERVER_USERS = ['cli', 'testing', 'sink-server'];

const folders = LAYERS.flat();
const alt = (names) => names.map((n) => n.replace(/[-.]/g, '\\$&')).join('|');

const layerRules = LAYERS.flatMap((row, rank) =>
  row.map((folder) => {
    const allowed = [folder, ...LAYERS.slice(0, rank).flat()];
    return {
      name: `layer-${folder}`,
      severity: 'error',
      comment: `src/${folder}/ may import only ${allowed.map((f) => `src/${f}/`).join(', ')} (the rows above it in .dependency-cruiser.cjs); move the shared code down a layer instead of importing upward`,
      from: { path: `^src/${alt([folder])}/` },
      to: { path: '^src/', pathNot: `^src/(${alt(allowed)})/` },
    };
  }),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'unknown-folder',
      severity: 'error',
      comment: 'every folder of src/ has a row in LAYERS (.dependency-cruiser.cjs); add the new folder where its imports put it',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${alt(folders)})/` },
      to: {},
    },
    {
      name: 'sink-runtime-apart',
      severity: 'error',
      comment: `only ${SINK_SERVER_USERS.map((f) => `src/${f}/`).join(', ')} import the sink program (src/sink-server/); what constructs need of it belongs in src/sink-contract/`,
      from: { pathNot: `^src/(${alt(SINK_SERVER_USERS)})/` },
      to: { path: '^src/sink-server/' },
    },
    {
      name: 'entry-without-io',
      severity: 'error',
      comment: 'the package entries in src/*.ts export constructs and pure functions: the CLI, the sink program and the testing helpers have their own entries',
      from: { path: '^src/[^/]+\\.ts$' },
      to: { path: '^src/(cli|testing|sink-server)/' },
    },
    {
      name: 'cdk8s-plus-only-in-sinks',
      severity: 'error',
      comment: 'cdk8s-plus-28 is an optional peer: only src/sinks/ imports it, so the policy and flag API works without it',
      from: { pathNot: '^src/sinks/' },
      to: { path: '(^|/)node_modules/cdk8s-plus-28/' },
    },
    {
      name: 'root-entry-without-cdk8s-plus',
      severity: 'error',
      comment: "'cdk8s-audit' must load without the optional peer cdk8s-plus-28: the sink constructs are imported from 'cdk8s-audit/sinks'",
      from: { path: '^src/index\\.ts$' },
      to: { path: '(^|/)node_modules/cdk8s-plus-28/', reachable: true },
    },
    {
      name: 'core-without-io',
      severity: 'error',
      comment: 'src/core/ is pure: no file system, process, network server or stream I/O',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|child_process|http|https|http2|dgram|readline|zlib|worker_threads|cluster|tls|process)$' },
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'folders of src/ import each other one way only',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
// The table itself, for the architecture test (not enumerable: the config schema allows no extra keys).
Object.defineProperty(module.exports, 'LAYERS', { value: LAYERS, enumerable: false });
