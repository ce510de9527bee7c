// The architecture rules (docs/architecture.md), enforced in CI:
// arrows point down, and only the data plane touches storage backends.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'backends-only-via-dataplane',
      comment: 'Only the data plane and the storage factory may import a storage backend implementation.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/dataplane/', '^src/storage/'] },
      to: { path: '^src/storage/backends/' },
    },
    {
      name: 'storage-only-via-dataplane',
      comment: 'Outside the data plane, code may use storage types but not open backends; only the composition root wires them.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/dataplane/', '^src/storage/', '^src/app\\.ts$'] },
      to: { path: '^src/storage/(factory|backends/)' },
    },
    {
      name: 'no-http-or-cli-below',
      comment: 'Nothing below the consumers imports HTTP or CLI code.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/http/', '^src/cli/'] },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'cli-and-http-are-siblings',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'registry-is-below-consumers-only',
      comment: 'Only consumers and the composition root import the registry layer.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(registry|http|cli|sinks)/', '^src/(app|index)\\.ts$'] },
      to: { path: '^src/registry/' },
    },
    {
      name: 'sinks-are-a-consumer',
      comment: 'Outbound event sinks (ADR 0019) consume the registry like HTTP does; only the CLI (serve, sinks status) runs them.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(sinks|cli)/'] },
      to: { path: '^src/sinks/' },
    },
    {
      name: 'views-below-registry',
      severity: 'error',
      from: { path: '^src/(events|manifest|identity|db|storage|dataplane|retention|errors)/' },
      to: { path: '^src/views/' },
    },
    {
      name: 'events-know-no-view',
      severity: 'error',
      from: { path: '^src/events/' },
      to: { path: '^src/(views|registry|retention|dataplane|storage)/' },
    },
    {
      name: 'kernels-stay-at-the-bottom',
      comment: 'identity, manifest and errors depend on nothing above them.',
      severity: 'error',
      from: { path: '^src/(identity|manifest|errors)/' },
      to: { path: '^src/(db|events|views|registry|retention|storage|dataplane|http|cli|app|config)' },
    },
    {
      name: 'storage-knows-no-database',
      severity: 'error',
      from: { path: '^src/(storage|dataplane)/' },
      to: { path: '^src/(db|events|views|registry|retention|http|cli|observability|auth)/' },
    },
    {
      name: 'no-composition-root-imports',
      comment: 'Only entry points (CLI) import the composition root.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/index\\.ts$'] },
      to: { path: '^src/app\\.ts$' },
    },
    {
      name: 'aws-sdk-only-in-s3-backend',
      comment: 'S3 vocabulary stays inside the S3 backend: nothing else imports the AWS SDK (or its @smithy runtime).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/storage/backends/s3/' },
      to: { path: '(^|/)@(aws-sdk|smithy)/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-test', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
