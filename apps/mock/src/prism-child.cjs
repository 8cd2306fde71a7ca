// Runs Prism's CLI in this process and ends it when the process that started it is gone.
//
// start-mock.ts holds this process's stdin pipe open for as long as it lives and never writes
// to it. The kernel closes the pipe however the parent ends (stop() not called, a test worker
// terminated by signal, SIGKILL), so end-of-file here means nobody is left to stop Prism: exit,
// and remove the temporary contract copy the parent can no longer remove.
//
// usage: node prism-child.cjs <temporary directory> <prism bin> <prism arguments...>
'use strict';
const { rmSync } = require('node:fs');

const [node, , temporaryDirectory, prismBin, ...prismArgs] = process.argv;

process.stdin.on('end', () => {
  rmSync(temporaryDirectory, { recursive: true, force: true });
  process.exit(0);
});
process.stdin.resume();

// Prism reads its arguments from process.argv, as if it had been started as `prism ...`.
process.argv = [node, prismBin, ...prismArgs];
require(prismBin);
