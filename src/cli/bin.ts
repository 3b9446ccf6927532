#!/usr/bin/env node
import { mainAsync } from './main.js';

process.exitCode = await mainAsync(process.argv.slice(2));
