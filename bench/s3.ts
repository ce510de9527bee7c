/**
 * `s3`: a large blob pushed and pulled through artifactstore on the S3
 * backend (the real CLI `serve`, `ARTIFACTSTORE_STORAGE_BACKEND=s3`, a fresh
 * SQLite database) against the same bytes uploaded and downloaded with the
 * AWS SDK straight to the same store (Ceph RGW from `../shared/s3`, or the
 * store the `ARTIFACTSTORE_S3_*` variables name).
 *
 * Fair baseline: what a client that skips the registry gets from the store.
 * It uploads with a streamed multipart upload (8 MiB parts, 4 in flight: the
 * shape of `@aws-sdk/lib-storage`'s `Upload`, which is not installed here)
 * and downloads with one GetObject, both on a client configured like our
 * backend's. Ours is pushed monolithically (`POST` a session, `PUT
 * ?digest=sha256:` with the whole body) and pulled with `GET
 * /v2/<repo>/blobs/<digest>`; a second server on the same database and
 * prefix with `ARTIFACTSTORE_S3_REDIRECT=true` is pulled following its 307
 * to the presigned URL. Each round runs SDK, ours, SDK, ours … and each
 * figure is the median round; every push is of a blob no side holds yet
 * (a per-round 16-byte stamp).
 *
 * Our server's peak RSS is measured during each push (VmHWM reset through
 * /proc/<pid>/clear_refs before, VmRSS polled every 20 ms).
 *
 * Environment (optional): `S3_BENCH_MIB` blob size in MiB (default 1024),
 * `S3_BENCH_ROUNDS` (default 3), `S3_BENCH_PULLS` (pulls per round, default 1), `BENCH_SERVER_NODE_ARGS` (node arguments of the servers, e.g. to profile them), `S3_BENCH_NO_BUILD=1` to run the `dist/`
 * already built instead of rebuilding it.
 */
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type CompletedPart } from '@aws-sdk/client-s3';
import { createHash, randomFillSync, randomUUID, type Hash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ensureRgw, type S3TestEnv } from '../test/support/rgw.js';
import { purgeS3Prefix } from '../test/support/s3.js';
import { expectStatus, pullBlob, pushMonolithic, send, stampedFile, target, type BlobSource, type Target } from './oci-client.js';
import { cpuSeconds, freePort, peakRssDuring, REPO_ROOT, runChecked, type Server } from './oci-servers.js';
import { MiB, median, num, printTable, serverNodeArgs, timed, times, withTempDir, type Benchmark, type ResultRow } from './lib.js';

const PART_BYTES = 8 * MiB;
const PARTS_IN_FLIGHT = 4;
const TARGET_PUSH = 0.8;
const TARGET_PULL = 0.9;
const TARGET_REDIRECT = 0.95;
const TARGET_RSS_MB = 250; // 10^6 bytes
const REPO = 'bench/s3';

/** A client configured like the backend's (checksums only where S3 requires them: RGW refuses the newer defaults). */
function sdkClient(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpointUrl,
    region: env.region,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    forcePathStyle: env.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Uploads `blob` to `key` as a multipart upload streamed from its chunks: PART_BYTES parts, PARTS_IN_FLIGHT at once. */
async function sdkUpload(client: S3Client, bucket: string, key: string, blob: BlobSource): Promise<void> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const uploadId = created.UploadId as string;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let partNumber = 0;
  const upload = async (body: Buffer): Promise<void> => {
    while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
    const number = ++partNumber;
    const task = client
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: body, ContentLength: body.length }))
      .then(
        (result) => void (parts[number - 1] = { PartNumber: number, ETag: result.ETag }),
        (error: unknown) => void (failure ??= error),
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of blob.chunks()) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= PART_BYTES) {
      const whole = Buffer.concat(pending, pendingBytes);
      await upload(whole.subarray(0, PART_BYTES));
      const rest = whole.subarray(PART_BYTES);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  if (pendingBytes > 0) await upload(Buffer.concat(pending, pendingBytes));
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
}

/** Downloads `key` with one GetObject, counting and dropping the bytes. */
async function sdkDownload(client: S3Client, bucket: string, key: string): Promise<number> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let bytes = 0;
  for await (const chunk of response.Body as Readable) bytes += (chunk as Buffer).length;
  return bytes;
}

/** Pulls through the redirecting server: the 307, then the presigned URL. */
async function pullRedirected(to: Target, digest: string, size: number): Promise<void> {
  const reply = expectStatus(to, 'GET blob (redirect)', await send(to, 'GET', `/v2/${REPO}/blobs/${digest}`), 307);
  const location = reply.headers.location;
  if (typeof location !== 'string') throw new Error('the 307 has no Location');
  const fetched = expectStatus(to, 'GET presigned URL', await send(to, 'GET', location), 200);
  if (fetched.bytes !== size) throw new Error(`redirected pull gave ${fetched.bytes} bytes, expected ${size}`);
}

/**
 * Starts `node bin/artifactstore.js serve` with `extra` on top of this
 * process's environment and waits until `GET /v2/` answers 200.
 */
async function launchServer(label: string, cwd: string, port: number, extra: NodeJS.ProcessEnv): Promise<Server> {
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    ...extra,
    ARTIFACTSTORE_LISTEN: `127.0.0.1:${port}`,
    ARTIFACTSTORE_LOG_LEVEL: 'warn',
    // Measure capacity, not the per-client limits.
    ARTIFACTSTORE_HTTP_RATE_LIMIT: '0',
    ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: '0',
  };
  const child = spawn(process.execPath, [...serverNodeArgs(), path.join(REPO_ROOT, 'bin', 'artifactstore.js'), 'serve'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr.on('data', (data: Buffer) => (tail = (tail + data.toString()).slice(-8192)));
  if (child.pid === undefined) throw new Error(`${label}: could not start`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: Server = {
    label,
    url,
    child,
    pid: child.pid,
    stderrTail: () => tail.trim(),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const probe = target(label, url);
  try {
    for (const deadline = Date.now() + 30_000; ; ) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${label} exited during start-up: ${tail.trim()}`);
      const status = await send(probe, 'GET', '/v2/').then((reply) => reply.status, () => 0);
      if (status === 200) return server;
      if (Date.now() > deadline) throw new Error(`${label} did not answer GET /v2/ within 30 s: ${tail.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    probe.agent.destroy();
  }
}

/** Writes `bytes` random bytes to `file` in 8 MiB pieces; returns their SHA-256 state. */
function writeRandomFile(file: string, bytes: number): Hash {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.allocUnsafe(8 * MiB);
    for (let written = 0; written < bytes; ) {
      const piece = randomFillSync(chunk).subarray(0, Math.min(chunk.length, bytes - written));
      hash.update(piece);
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return hash;
}

const mbps = (bytes: number, seconds: number): string => `${num(bytes / 1e6 / seconds, 1)} MB/s (${seconds.toFixed(2)} s)`;

export const s3: Benchmark = {
  name: 's3',
  summary: 'push and pull of a 1 GiB blob through artifactstore on S3 vs the AWS SDK straight to the store',
  async run() {
    const mib = Number(process.env.S3_BENCH_MIB ?? 1024);
    const rounds = Number(process.env.S3_BENCH_ROUNDS ?? 3);
    // Pulls are short and noisy: each round can pull (SDK, streamed, redirected) several times; medians over all.
    const pullsPerRound = Number(process.env.S3_BENCH_PULLS ?? 1);
    if (!Number.isSafeInteger(pullsPerRound) || pullsPerRound < 1) throw new Error('S3_BENCH_PULLS must be a whole number ≥ 1');
    if (!Number.isSafeInteger(mib) || mib < 1) throw new Error('S3_BENCH_MIB must be a whole number of MiB ≥ 1');
    if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('S3_BENCH_ROUNDS must be a whole number ≥ 1');
    if (process.env.S3_BENCH_NO_BUILD !== '1' || !existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
      console.log(`building dist/ (npx tsc -p tsconfig.build.json) … (load average ${os.loadavg()[0]!.toFixed(1)})`);
      // Other work in the tree may not type-check; tsc still emits, and the S3 paths are what matter here.
      await runChecked('npx', ['tsc', '-p', 'tsconfig.build.json']).catch((error: unknown) => {
        if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) throw error;
        console.log(`WARNING: the build reported errors; running the dist/ it emitted (${String(error).split('\n')[0]})`);
      });
    }
    const env = await ensureRgw();
    const prefix = `artifactstore-bench/s3-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const client = sdkClient(env);
    const servers: Server[] = [];
    const targets: Target[] = [];
    try {
      await withTempDir('s3', async (dir) => {
        const file = path.join(dir, 'blob');
        const fileSize = mib * MiB - 16;
        const prefixHash = writeRandomFile(file, fileSize);
        const serverEnv = (redirect: boolean): NodeJS.ProcessEnv => ({
          ARTIFACTSTORE_DATABASE_URL: path.join(dir, 'artifactstore.db'),
          ARTIFACTSTORE_STORAGE_BACKEND: 's3',
          ARTIFACTSTORE_S3_ENDPOINT_URL: env.endpointUrl,
          ARTIFACTSTORE_S3_REGION: env.region,
          ARTIFACTSTORE_S3_BUCKET: env.bucket,
          ARTIFACTSTORE_S3_ACCESS_KEY_ID: env.accessKeyId,
          ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: env.secretAccessKey,
          ARTIFACTSTORE_S3_FORCE_PATH_STYLE: String(env.forcePathStyle),
          ARTIFACTSTORE_S3_KEY_PREFIX: `${prefix}/ours`,
          ARTIFACTSTORE_S3_REDIRECT: String(redirect),
        });
        const ours = await launchServer('artifactstore', dir, await freePort(), serverEnv(false));
        servers.push(ours);
        const redirecting = await launchServer('artifactstore (redirect)', dir, await freePort(), serverEnv(true));
        servers.push(redirecting);
        const oursTarget = target('artifactstore', ours.url);
        const redirectTarget = target('artifactstore (redirect)', redirecting.url);
        targets.push(oursTarget, redirectTarget);

        const seconds = { sdkPut: [] as number[], push: [] as number[], sdkGet: [] as number[], pull: [] as number[], redirect: [] as number[] };
        const rss: number[] = [];
        const pushCpu: number[] = [];
        const pullCpu: number[] = [];
        for (let round = 0; round < rounds; round += 1) {
          const blob = stampedFile(file, fileSize, prefixHash, `r${round}-${randomUUID()}`);
          const sdkKey = `${prefix}/sdk/${round}`;
          seconds.sdkPut.push((await timed(() => sdkUpload(client, env.bucket, sdkKey, blob))).seconds);
          const cpuBefore = cpuSeconds(ours.pid);
          const pushed = await peakRssDuring(ours.pid, () => timed(() => pushMonolithic(oursTarget, REPO, blob)));
          pushCpu.push(cpuSeconds(ours.pid) - cpuBefore);
          seconds.push.push(pushed.result.seconds);
          rss.push(pushed.peakBytes);
          for (let pull = 0; pull < pullsPerRound; pull += 1) {
            const got = await timed(() => sdkDownload(client, env.bucket, sdkKey));
            if (got.result !== blob.size) throw new Error(`SDK download gave ${got.result} bytes, expected ${blob.size}`);
            seconds.sdkGet.push(got.seconds);
            const pullCpuBefore = cpuSeconds(ours.pid);
            seconds.pull.push((await timed(() => pullBlob(oursTarget, REPO, blob.digest, blob.size))).seconds);
            pullCpu.push(cpuSeconds(ours.pid) - pullCpuBefore);
            seconds.redirect.push((await timed(() => pullRedirected(redirectTarget, blob.digest, blob.size))).seconds);
            if (pullsPerRound > 1) console.log(`    pull ${pull + 1}: SDK get ${got.seconds.toFixed(2)} s, pull ${seconds.pull[seconds.pull.length - 1]!.toFixed(2)} s (server CPU ${pullCpu[pullCpu.length - 1]!.toFixed(2)} s), via 307 ${seconds.redirect[seconds.redirect.length - 1]!.toFixed(2)} s`);
          }
          // RGW keeps data in RAM: drop this round's baseline object now.
          await client.send(new DeleteObjectCommand({ Bucket: env.bucket, Key: sdkKey }));
          const show = (values: number[]): string => `${values[values.length - 1]!.toFixed(2)} s`;
          console.log(
            `  round ${round + 1}: SDK put ${show(seconds.sdkPut)}, push ${show(seconds.push)}, SDK get ${show(seconds.sdkGet)}, pull ${show(seconds.pull)}, pull via 307 ${show(seconds.redirect)}, server peak RSS ${num(rss[rss.length - 1]! / 1e6)} MB`,
          );
        }

        const bytes = mib * MiB;
        const row = (measure: string, ours: number[], sdk: number[], goal: number): ResultRow => {
          const ratio = median(sdk) / median(ours);
          return { measure, figure: mbps(bytes, median(ours)), baseline: mbps(bytes, median(sdk)), ratio: times(ratio), target: `≥ ${goal.toFixed(2)}×`, pass: ratio >= goal };
        };
        const peak = Math.max(...rss);
        printTable(`s3: ${num(mib)} MiB blob, ${rounds} round(s), median; baseline = AWS SDK straight to ${env.endpointUrl}`, [
          row(`push (POST + PUT ?digest=) vs SDK multipart upload`, seconds.push, seconds.sdkPut, TARGET_PUSH),
          row(`pull (GET blob, streamed) vs SDK GetObject`, seconds.pull, seconds.sdkGet, TARGET_PULL),
          row(`pull with ARTIFACTSTORE_S3_REDIRECT=true (307 + GET) vs SDK GetObject`, seconds.redirect, seconds.sdkGet, TARGET_REDIRECT),
          { measure: 'server peak RSS during push (max of rounds)', figure: `${num(peak / 1e6)} MB`, target: `< ${TARGET_RSS_MB} MB`, pass: peak < TARGET_RSS_MB * 1e6 },
          { measure: 'server CPU per push (user + system, median)', figure: `${median(pushCpu).toFixed(2)} s` },
          { measure: 'server CPU per streamed pull (user + system, median)', figure: `${median(pullCpu).toFixed(2)} s` },
          { measure: 'machine load average at the end (1 min)', figure: os.loadavg()[0]!.toFixed(2) },
        ]);
      });
    } finally {
      for (const to of targets) to.agent.destroy();
      for (const server of servers) await server.stop();
      client.destroy();
      await purgeS3Prefix(env, prefix).catch((error: unknown) => console.error(`could not purge ${prefix}: ${String(error)}`));
    }
  },
};
