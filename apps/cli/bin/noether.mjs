#!/usr/bin/env node
// Committed launcher so npm can link the bin at install time; the code lives in dist/.
import { main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`noether: ${err?.message ?? err}`); process.exitCode = 1; },
);
