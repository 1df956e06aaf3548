#!/usr/bin/env node
// The `licensepool` command: the compiled CLI (`npm run build`, which `npm ci` runs, makes dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
