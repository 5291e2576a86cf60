'use strict';
// A small `solc` command line on top of solc-js, so that tools which expect the native
// binary (py-solc-x's compile_standard, slither through crytic-compile) work with the
// compiler pinned in package.json and nothing downloaded.
//
//   solc --version
//   solc --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths ...] < input.json
//   solc --combined-json abi,bin,... [REMAP=TARGET]... [flags] FILE.sol...
//
// Imports resolve, in order, against the base path, each include path, the current
// directory, and node_modules as Node resolves it from here (so "@openzeppelin/..." works
// without a remapping). Only the compiler's JSON is written to stdout.

const fs = require('fs');
const path = require('path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
// Flags that take a value and are accepted (and ignored unless listed in parseArgs).
const VALUE_FLAGS = new Set([
  '--base-path', '--include-path', '--allow-paths', '--combined-json', '--evm-version',
  '--optimize-runs', '--output-dir',
]);
const IGNORED_BOOLEAN_FLAGS = new Set(['--overwrite', '--no-color', '--optimize']);

function loadSolc() {
  // Resolve from the repository first, so a global solc-js never shadows the pinned one.
  const resolved = require.resolve('solc', { paths: [REPO_ROOT, __dirname] });
  return require(resolved);
}

function parseArgs(argv) {
  const opts = { includePaths: [], remaps: [], files: [], optimize: false, optimizeRuns: 200 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    let flag = arg;
    let value = null;
    if (arg.startsWith('--') && arg.includes('=')) {
      flag = arg.slice(0, arg.indexOf('='));
      value = arg.slice(arg.indexOf('=') + 1);
    }
    if (VALUE_FLAGS.has(flag)) {
      if (value === null) {
        i += 1;
        value = argv[i];
      }
      if (flag === '--base-path') opts.basePath = value;
      else if (flag === '--include-path') opts.includePaths.push(value);
      else if (flag === '--combined-json') opts.combinedJson = value.split(',');
      else if (flag === '--evm-version') opts.evmVersion = value;
      else if (flag === '--optimize-runs') opts.optimizeRuns = Number(value);
    } else if (flag === '--version') opts.version = true;
    else if (flag === '--standard-json') opts.standardJson = true;
    else if (flag === '--optimize') opts.optimize = true;
    else if (IGNORED_BOOLEAN_FLAGS.has(flag)) continue;
    else if (flag.startsWith('-')) throw new Error(`solc-shim: unsupported option ${arg}`);
    else if (arg.includes('=') && !fs.existsSync(arg)) opts.remaps.push(arg);
    else opts.files.push(arg);
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean);
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    try {
      const resolved = require.resolve(importPath, { paths: [process.cwd(), REPO_ROOT] });
      return { contents: fs.readFileSync(resolved, 'utf8') };
    } catch (err) {
      return { error: `File not found: ${importPath}` };
    }
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

// `--combined-json` keys mapped to standard-JSON output selections and back.
const COMBINED = {
  abi: { select: 'abi', get: (c) => c.abi },
  bin: { select: 'evm.bytecode.object', get: (c) => c.evm.bytecode.object },
  'bin-runtime': {
    select: 'evm.deployedBytecode.object', get: (c) => c.evm.deployedBytecode.object,
  },
  srcmap: { select: 'evm.bytecode.sourceMap', get: (c) => c.evm.bytecode.sourceMap },
  'srcmap-runtime': {
    select: 'evm.deployedBytecode.sourceMap', get: (c) => c.evm.deployedBytecode.sourceMap,
  },
  userdoc: { select: 'userdoc', get: (c) => c.userdoc },
  devdoc: { select: 'devdoc', get: (c) => c.devdoc },
  hashes: { select: 'evm.methodIdentifiers', get: (c) => c.evm.methodIdentifiers },
  metadata: { select: 'metadata', get: (c) => c.metadata },
  'storage-layout': { select: 'storageLayout', get: (c) => c.storageLayout },
};

function combinedJson(solc, opts) {
  const keys = opts.combinedJson.filter((k) => k !== 'compact-format');
  const wantAst = keys.includes('ast');
  const selections = keys.filter((k) => k !== 'ast').map((k) => {
    if (!COMBINED[k]) throw new Error(`solc-shim: unsupported --combined-json key ${k}`);
    return COMBINED[k].select;
  });
  const sources = {};
  for (const file of opts.files) {
    const unit = path.relative(opts.basePath || process.cwd(), path.resolve(file));
    sources[unit] = { content: fs.readFileSync(file, 'utf8') };
  }
  const settings = {
    remappings: opts.remaps,
    optimizer: { enabled: opts.optimize, runs: opts.optimizeRuns },
    outputSelection: { '*': { '*': selections, '': wantAst ? ['ast'] : [] } },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  const input = { language: 'Solidity', sources, settings };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(opts) }));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  for (const e of out.errors || []) process.stderr.write(`${e.formattedMessage}\n`);
  if (errors.length) process.exit(1);
  const result = { contracts: {}, sources: {}, version: solc.version() };
  for (const [unit, contracts] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const entry = {};
      for (const k of keys.filter((key) => key !== 'ast')) entry[k] = COMBINED[k].get(c);
      result.contracts[`${unit}:${name}`] = entry;
    }
  }
  const sourceList = Object.keys(out.sources || {}).sort(
    (a, b) => out.sources[a].id - out.sources[b].id,
  );
  for (const unit of sourceList) {
    result.sources[unit] = { id: out.sources[unit].id };
    if (wantAst) result.sources[unit].AST = out.sources[unit].ast;
  }
  result.sourceList = sourceList;
  return result;
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const solc = loadSolc();
  if (opts.version) {
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`,
    );
    return;
  }
  if (opts.standardJson) {
    const output = solc.compile(readStdin(), { import: makeImportCallback(opts) });
    process.stdout.write(`${output}\n`);
    return;
  }
  if (opts.combinedJson && opts.files.length) {
    process.stdout.write(`${JSON.stringify(combinedJson(solc, opts))}\n`);
    return;
  }
  process.stderr.write('solc-shim: use --version, --standard-json or --combined-json FILE\n');
  process.exit(2);
}

module.exports = { main, parseArgs };
