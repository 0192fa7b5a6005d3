/**
 * Prints the combined interop matrix of a run:
 *   SOCKWAVE_MATRIX_FILE=/tmp/m.jsonl node scripts/run-tests.mjs test/peers
 *   npx tsx test/peers/print-matrix.ts /tmp/m.jsonl
 */
import { printMatrixFile } from './matrix.js';

const file = process.argv[2] ?? process.env.SOCKWAVE_MATRIX_FILE;
if (!file) {
  console.error('usage: print-matrix.ts FILE (the SOCKWAVE_MATRIX_FILE of a test run)');
  process.exit(2);
}
console.log(printMatrixFile(file));
