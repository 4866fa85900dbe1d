// Driver for `make bench` (executor section): runs an ASL definition with the
// npm package aws-local-stepfunctions and prints one JSON line with the time.
//
//   node tools/bench-node/run.mjs <install-prefix> <definition.json> <input-json> <transitions>
//
// <install-prefix> is where `npm ci --prefix` installed tools/bench-node's
// lock file (.local/bench-node). <transitions> is how many states the run
// enters (the caller knows it from the definition); the driver checks the
// output instead of recording an event log, so nothing but the executor is timed.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// aws-local-stepfunctions 3.x uses Promise.withResolvers (Node 22+).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const [prefix, definitionPath, inputJson, transitionsArg] = process.argv.slice(2);
if (!prefix || !definitionPath || !inputJson || !transitionsArg) {
  console.error('usage: run.mjs <install-prefix> <definition.json> <input-json> <transitions>');
  process.exit(2);
}
const require = createRequire(join(resolve(prefix), 'package.json'));
const entry = require.resolve('aws-local-stepfunctions');
const { StateMachine } = await import(pathToFileURL(entry.replace(/main\.node\.cjs$/, 'main.node.esm.js')).href);
const version = JSON.parse(readFileSync(join(resolve(prefix), 'node_modules/aws-local-stepfunctions/package.json'), 'utf8')).version;

const definition = JSON.parse(readFileSync(definitionPath, 'utf8'));
const input = JSON.parse(inputJson);
const machine = new StateMachine(definition, { validationOptions: { checkPaths: false } });

const start = process.hrtime.bigint();
const execution = machine.run(input);
const output = await execution.result;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const transitions = Number(transitionsArg);
console.log(JSON.stringify({
  executor: `aws-local-stepfunctions ${version}`,
  node: process.version,
  output,
  transitions,
  seconds,
  per_second: transitions / seconds,
}));
