#!/usr/bin/env node
// litert_run.js: runs a .tflite model with LiteRT.js (@litertjs/core, the
// TFLite runtime compiled to WebAssembly; CPU kernels = XNNPACK + the TFLite
// builtin/custom ops) under Node. The TFLite reference engine of the tests
// (tests/litert_peer.h).
//
//   node litert_run.js MODEL --input [name=]x.npy [...] --out DIR
//       runs once, writes output k as DIR/<k>_<tensor name>.npy (raw values
//       in the tensor's own type: float32, int8, uint8, ...) and prints one
//       JSON object {engine, version, inputs, outputs} describing every
//       input/output: name, TFLite type, shape, quantization {scale,
//       zero_point, quantized_dimension} when quantized, and for outputs the
//       .npy file written;
//   node litert_run.js MODEL [--input ...] --bench [--warmup 3] [--runs 20]
//       times the run alone (single thread; after one untimed run that
//       also checks for errors) and prints one JSON line with
//       every sample (samples_ms) and their mean/p50/min; inputs not given
//       get seeded uniform random values of their type (float32 in [-1, 1),
//       int8 / uint8 over their range);
//   node litert_run.js MODEL --describe
//       prints the same JSON without running;
//   node litert_run.js --check
//       prints {"engine": ..., "version": ...} if LiteRT.js loads.
//
// `--input x.npy` without a name feeds the inputs in order; a named input is
// matched to the model input of that name. The .npy dtype must equal the
// input's TFLite type (no conversion). Everything loads from node_modules
// (the .wasm next to its loader script); nothing is fetched.
//
// LiteRT.js targets browsers and web workers; under Node it needs four shims
// (installShims): `self` (the global its loader registers ModuleFactory on),
// `importScripts` (how a worker runs the emscripten loader script), and
// `require` / `__dirname` (the loader's Node branch reads the .wasm with
// require("node:fs") from __dirname); plus a global `Module` with print /
// printErr, which the loader takes as the wasm module's options, so that
// LiteRT's ERROR log lines (a model it cannot prepare) become a failure. Its JS Tensor API only knows
// float32/int32/uint8, so tensors are moved through the lower-level wasm
// bindings it exposes (loadModel, compileModel, LiteRtTensorBuffer), which
// handle every TFLite type (int8 I/O of full-integer models).
// Depends on @litertjs/core, npy.js and tflite_fb.js only.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { pathToFileURL } = require('url');
const { readNpy, writeNpy } = require('./npy');
const { readTfliteIo } = require('./tflite_fb');

const CORE_DIR = path.join(__dirname, 'node_modules', '@litertjs', 'core');
const WASM_DIR = path.join(CORE_DIR, 'wasm');

// LiteRT ElementType value -> the typed array and .npy dtype that hold it.
const ELEMENT_TYPES = {
  1: { name: 'float32', array: Float32Array },
  2: { name: 'int32', array: Int32Array },
  3: { name: 'uint8', array: Uint8Array },
  4: { name: 'int64', array: BigInt64Array },
  6: { name: 'bool', array: Uint8Array },
  9: { name: 'int8', array: Int8Array },
};
const NPY_TO_TYPE = { '<f4': 'float32', '<i4': 'int32', '|u1': 'uint8', '<i8': 'int64', '|b1': 'bool', '|i1': 'int8' };

// LiteRT's own log lines (the wasm module's print/printErr). A model it
// cannot prepare is only logged ("ERROR: Node number 1 (CONV_2D) failed to
// prepare."), so ERROR lines are collected and turned into a failure.
const liteRtErrors = [];
function liteRtLog(line) {
  const text = String(line);
  if (text.startsWith('ERROR')) liteRtErrors.push(text.replace(/^ERROR:\s*/, '').trim());
  if (!text.startsWith('INFO')) process.stderr.write(`${text}\n`);
}
function throwIfLiteRtFailed(model, stage) {
  const msgs = liteRtErrors.filter((m) => m.length > 0);
  if (msgs.length > 0) throw new Error(`${model}: LiteRT failed to ${stage}: ${msgs.join(' / ')}`);
}

function installShims() {
  globalThis.self = globalThis;
  globalThis.Module = { print: liteRtLog, printErr: liteRtLog };  // the emscripten module's options
  globalThis.require = require;
  globalThis.__dirname = WASM_DIR;
  globalThis.importScripts = (file) => {
    const f = file instanceof URL ? file.pathname : String(file);
    vm.runInThisContext(fs.readFileSync(f, 'utf8'), { filename: f });
  };
}

// {wasm: the bindings of LiteRT's wasm module, env: its default environment,
// version of @litertjs/core}.
async function loadLiteRtJs() {
  if (!fs.existsSync(path.join(CORE_DIR, 'package.json'))) {
    throw new Error(`@litertjs/core is not installed in ${path.dirname(path.dirname(CORE_DIR))} (run scripts/setup.sh)`);
  }
  const version = JSON.parse(fs.readFileSync(path.join(CORE_DIR, 'package.json'), 'utf8')).version;
  installShims();
  const lrt = await import(pathToFileURL(path.join(CORE_DIR, 'dist', 'index.js')).href);
  // Its default environment first tries WebGPU (absent in Node) and warns;
  // the CPU path does not need it, so only that warning is dropped.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!String(args[0]).startsWith('Failed to create default WebGPU device')) warn(...args);
  };
  try {
    await lrt.loadLiteRt(WASM_DIR + path.sep);
  } finally {
    console.warn = warn;
  }
  const liteRt = lrt.getGlobalLiteRt();
  return { wasm: liteRt.liteRtWasm, env: liteRt.getDefaultEnvironment(), version };
}

function usage() {
  return 'usage: node litert_run.js MODEL (--input [name=]x.npy [...] --out DIR | [--input ...] --bench ' +
    '[--warmup N] [--runs N] | --describe) | --check';
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], out: null, describe: false, bench: false, warmup: 3, runs: 20 };
  const intArg = (flag, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k}: missing value`);
      return argv[++i];
    };
    if (k === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      a.inputs.push(eq > 0 ? { name: v.slice(0, eq), file: v.slice(eq + 1) } : { name: null, file: v });
    } else if (k === '--out') a.out = next();
    else if (k === '--describe') a.describe = true;
    else if (k === '--bench') a.bench = true;
    else if (k === '--warmup') a.warmup = intArg(k, next(), 0);
    else if (k === '--runs') a.runs = intArg(k, next(), 1);
    else if (k.startsWith('--')) throw new Error(`unknown flag ${k}; ${usage()}`);
    else if (a.model === null) a.model = k;
    else throw new Error(`unexpected argument '${k}'; ${usage()}`);
  }
  if (!a.model) throw new Error(usage());
  if (!a.describe && !a.bench && (a.inputs.length === 0 || !a.out)) {
    throw new Error(`need --input and --out, --bench or --describe; ${usage()}`);
  }
  return a;
}

function vectorToArray(v) {
  const out = [];
  for (let i = 0; i < v.size(); i++) out.push(v.get(i));
  v.delete();
  return out;
}

// {type name, shape} of a LiteRtRankedTensorType (deleted here).
function tensorTypeInfo(rt) {
  const value = rt.elementType().value;
  const layout = rt.layout();
  const shape = vectorToArray(layout.dimensions());
  layout.delete();
  rt.delete();
  const et = ELEMENT_TYPES[value];
  return { elementType: value, type: et ? et.name : `element type ${value}`, array: et && et.array, shape };
}

// A host-memory tensor buffer of the model's input type holding `npy`.
function makeInputBuffer(wasm, env, model, index, info, npy, source) {
  const want = info.type;
  const got = NPY_TO_TYPE[npy.dtype] || npy.dtype;
  if (got !== want) throw new Error(`${source}: dtype ${got} does not match input '${info.name}' of type ${want}`);
  const same = npy.shape.length === info.shape.length && npy.shape.every((d, i) => d === info.shape[i]);
  if (!same) {
    throw new Error(`${source}: shape [${npy.shape}] does not match input '${info.name}' shape [${info.shape}]`);
  }
  const rt = model.getInputTensorType(0, index);
  const bytes = rt.bytes();
  if (bytes !== npy.data.byteLength) {
    rt.delete();
    throw new Error(`${source}: ${npy.data.byteLength} bytes of data, input '${info.name}' needs ${bytes}`);
  }
  const buf = wasm.LiteRtTensorBuffer.createManaged(env.liteRtEnvironment, wasm.LiteRtTensorBufferType.HOST_MEMORY, rt, bytes);
  rt.delete();
  const ptr = buf.lock(wasm.LiteRtTensorBufferLockMode.WRITE);
  try {
    wasm.HEAPU8.set(new Uint8Array(npy.data.buffer, npy.data.byteOffset, npy.data.byteLength), ptr);
  } finally {
    buf.unlock();
  }
  return buf;
}

// Copies a host-memory output buffer into a fresh typed array of its type.
function readOutputBuffer(wasm, buf, info) {
  if (!info.array) throw new Error(`output '${info.name}': ${info.type} cannot be written as .npy`);
  const ptr = buf.lock(wasm.LiteRtTensorBufferLockMode.READ);
  try {
    const bytes = wasm.HEAPU8.slice(ptr + buf.offset(), ptr + buf.offset() + buf.packedSize());
    return new info.array(bytes.buffer, 0, bytes.byteLength / info.array.BYTES_PER_ELEMENT);
  } finally {
    buf.unlock();
  }
}

// Seeded uniform values from a 32-bit LCG: float32 in [-1, 1), uint8 /
// int8 over their range (the top 8 bits of the state).
function randomNpy(info, seed) {
  const n = info.shape.reduce((p, d) => p * d, 1);
  const kinds = { float32: ['<f4', Float32Array], int8: ['|i1', Int8Array], uint8: ['|u1', Uint8Array] };
  const kind = kinds[info.type];
  if (!kind) throw new Error(`input '${info.name}': no random values for type ${info.type}; give --input`);
  const data = new kind[1](n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = info.type === 'float32' ? s / 2147483648 - 1 : (s >>> 24) - (info.type === 'int8' ? 128 : 0);
  }
  return { dtype: kind[0], shape: info.shape, data };
}

function fileSafe(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  if (process.argv[2] === '--check') {
    const { version } = await loadLiteRtJs();
    console.log(JSON.stringify({ engine: '@litertjs/core', version }));
    return;
  }
  const a = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(a.model)) throw new Error(`${a.model}: no such file`);
  const bytes = fs.readFileSync(a.model);
  const fb = readTfliteIo(bytes, a.model);
  const { wasm, env, version } = await loadLiteRtJs();

  const ptr = wasm._malloc(bytes.length);
  wasm.HEAPU8.set(bytes, ptr);
  const model = wasm.loadModel(env.liteRtEnvironment, ptr, bytes.length);
  const compiled = await wasm.compileModel(env.liteRtEnvironment, model, {
    environment: env, accelerator: 'wasm', cpuOptions: { numThreads: 1 }, gpuOptions: {}, webNNOptions: {},
  });
  throwIfLiteRtFailed(a.model, 'load and compile the model');
  const sig = model.getSignature(0);
  const inNames = vectorToArray(sig.inputNames());
  const outNames = vectorToArray(sig.outputNames());
  sig.delete();
  // The FlatBuffer's quantization for each LiteRT input/output: by name, else by position.
  const withQuant = (names, fbList, typeOf) => names.map((name, i) => {
    const t = typeOf(i);
    const f = fbList.find((x) => x.name === name) || fbList[i];
    const d = { name, index: i, type: t.type, shape: t.shape, array: t.array };
    if (f && f.quantization) d.quantization = f.quantization;
    return d;
  });
  const inputs = withQuant(inNames, fb.inputs, (i) => tensorTypeInfo(model.getInputTensorType(0, i)));
  const outputs = withQuant(outNames, fb.outputs, (i) => tensorTypeInfo(model.getOutputTensorType(0, i)));
  const report = () => {
    const strip = ({ array, ...rest }) => rest;
    console.log(JSON.stringify({
      engine: '@litertjs/core', version, model: a.model, custom_ops: fb.custom_ops,
      inputs: inputs.map(strip), outputs: outputs.map(strip),
    }));
  };
  if (a.describe) {
    report();
    return;
  }

  if (!a.bench && a.inputs.length !== inputs.length) {
    throw new Error(`${a.model}: the model has ${inputs.length} input(s) (${inNames.join(', ')}), ${a.inputs.length} given`);
  }
  const buffers = new Array(inputs.length).fill(null);
  a.inputs.forEach((inp, k) => {
    const index = inp.name === null ? k : inNames.indexOf(inp.name);
    if (index < 0) throw new Error(`${a.model}: no input named '${inp.name}' (inputs: ${inNames.join(', ')})`);
    if (buffers[index]) throw new Error(`${a.model}: input '${inNames[index]}' given twice`);
    buffers[index] = makeInputBuffer(wasm, env, model, index, inputs[index], readNpy(inp.file), inp.file);
  });
  if (a.bench) {
    inputs.forEach((info, k) => {
      if (!buffers[k]) buffers[k] = makeInputBuffer(wasm, env, model, k, info, randomNpy(info, 12345 + k), `random ${info.name}`);
    });
    const once = async () => (await compiled.run(0, buffers)).forEach((b) => b.delete());
    await once();
    throwIfLiteRtFailed(a.model, 'run the model');
    for (let i = 1; i < a.warmup; i++) await once();
    const ms = [];
    for (let i = 0; i < a.runs; i++) {
      const t0 = process.hrtime.bigint();
      await once();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...ms].sort((x, y) => x - y);
    const r3 = (v) => Math.round(v * 1000) / 1000;
    console.log(JSON.stringify({
      engine: '@litertjs/core', version, model: a.model, threads: 1, warmup: a.warmup, runs: a.runs,
      mean_ms: r3(ms.reduce((p, v) => p + v, 0) / ms.length), p50_ms: r3(sorted[Math.ceil(sorted.length / 2) - 1]),
      min_ms: r3(sorted[0]), samples_ms: ms,
    }));
    buffers.forEach((b) => b.delete());
    return;
  }
  const results = await compiled.run(0, buffers);
  throwIfLiteRtFailed(a.model, 'run the model');
  fs.mkdirSync(a.out, { recursive: true });
  outputs.forEach((o, k) => {
    const data = readOutputBuffer(wasm, results[k], o);
    o.file = path.join(a.out, `${k}_${fileSafe(o.name)}.npy`);
    writeNpy(o.file, data, o.shape, o.type === 'bool' ? 'bool' : undefined);
    results[k].delete();
  });
  buffers.forEach((b) => b.delete());
  report();
}

main().catch((e) => {
  console.error(`litert_run: error: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
