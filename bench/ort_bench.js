#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU) worker for bench/run.py. Benchmark only.
//
//   node ort_bench.js serve   MODEL.onnx INPUT.f32 SIDE THREADS
//   node ort_bench.js folder  MODEL.onnx SIDE THREADS REPEAT X.f32...
//   node ort_bench.js profile MODEL.onnx INPUT.f32 SIDE THREADS ROUNDS OUTPREFIX
//
// serve: creates the session (timed), runs once, prints one JSON line
//   {engine, open_ms, first_ms, probs, rss_kb}, then answers stdin lines "run K" with
//   {"lat_ms": [...]} and "quit" (or EOF) with {"rss_kb": peak}.
// folder: loads the tensors, prints {"ready": true}, waits for "go" on stdin, classifies
//   every tensor REPEAT times and prints {images, seconds, worst_diff} (against X.probs).
// profile: ONNX Runtime's own per-node profile (JSON file OUTPREFIX*.json), path printed.
// Inputs are raw little-endian float32 CHW tensors (tests/ref/opencv_ref.py writes them).
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function loadF32(file, side) {
  const b = fs.readFileSync(file);
  const n = 3 * side * side;
  if (b.length !== n * 4) throw new Error(`${file}: ${b.length} bytes, expected ${n * 4}`);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = b.readFloatLE(i * 4);
  return a;
}

function loadProbs(f32file) {
  const p = f32file.replace(/\.f32$/, '.probs');
  if (p === f32file || !fs.existsSync(p)) return null;
  return fs.readFileSync(p, 'utf8').split(/\s+/).filter((s) => s.length).map(Number);
}

function rssKb() {
  return process.resourceUsage().maxRSS; // kilobytes
}

async function makeSession(model, threads, extra) {
  const opt = Object.assign({
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  }, extra || {});
  const t0 = nowMs();
  const s = await ort.InferenceSession.create(model, opt);
  return [s, nowMs() - t0];
}

async function run(s, x, side) {
  const feeds = { input: new ort.Tensor('float32', x, [1, 3, side, side]) };
  const out = await s.run(feeds);
  return Array.from(out.probs.data);
}

function lines() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const it = rl[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    return r.done ? null : r.value.trim();
  };
}

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function serve(model, input, side, threads) {
  const [s, openMs] = await makeSession(model, threads);
  const x = loadF32(input, side);
  let t0 = nowMs();
  const probs = await run(s, x, side);
  const firstMs = nowMs() - t0;
  say({ engine: 'ort', version: ort.env.versions ? ort.env.versions.node : '', open_ms: openMs,
        first_ms: firstMs, probs, rss_kb: rssKb() });
  const next = lines();
  for (;;) {
    const l = await next();
    const m = l === null ? null : /^run (\d+)$/.exec(l);
    if (!m) break;
    const lat = [];
    for (let i = 0; i < Number(m[1]); i++) {
      t0 = nowMs();
      await run(s, x, side);
      lat.push(nowMs() - t0);
    }
    say({ lat_ms: lat });
  }
  say({ rss_kb: rssKb() });
}

async function folder(model, side, threads, repeat, files) {
  const [s, openMs] = await makeSession(model, threads);
  const xs = files.map((f) => loadF32(f, side));
  const refs = files.map(loadProbs);
  await run(s, xs[0], side); // warm-up, as the other engines get
  say({ ready: true, open_ms: openMs });
  const next = lines();
  if ((await next()) !== 'go') return;
  let worst = 0;
  const t0 = nowMs();
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < xs.length; i++) {
      const p = await run(s, xs[i], side);
      if (refs[i]) for (let k = 0; k < p.length; k++) worst = Math.max(worst, Math.abs(p[k] - refs[i][k]));
    }
  }
  say({ images: repeat * xs.length, seconds: (nowMs() - t0) / 1e3, worst_diff: worst, rss_kb: rssKb() });
}

async function profile(model, input, side, threads, rounds, prefix) {
  const [s] = await makeSession(model, threads, { enableProfiling: true, profileFilePrefix: prefix });
  const x = loadF32(input, side);
  for (let i = 0; i < rounds + 1; i++) await run(s, x, side);
  // node's endProfiling returns nothing: the file is OUTPREFIX_<date>.json
  if (s.endProfiling) s.endProfiling();
  say({ profile_prefix: prefix, rounds: rounds + 1 });
}

async function main() {
  const a = process.argv.slice(2);
  const mode = a[0];
  if (mode === 'serve' && a.length === 5) return serve(a[1], a[2], Number(a[3]), Number(a[4]));
  if (mode === 'folder' && a.length >= 6) {
    return folder(a[1], Number(a[2]), Number(a[3]), Number(a[4]), a.slice(5));
  }
  if (mode === 'profile' && a.length === 7) {
    return profile(a[1], a[2], Number(a[3]), Number(a[4]), Number(a[5]), a[6]);
  }
  process.stderr.write('usage: see the header of bench/ort_bench.js\n');
  process.exit(2);
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
