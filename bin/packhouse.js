#!/usr/bin/env node
// The packhouse command; the code lives in dist/ (built by `npm install` through the prepare script).
import { main } from '../dist/src/main.js';

await main(process.argv.slice(2));
