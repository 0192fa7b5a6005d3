// Warns when a --compare-dist build would load differently from dist/.
//
// dist/ sits under the project's package.json ("type": "module"). A copy in
// a directory without one (e.g. /tmp/main-dist) makes Node 20.19+ guess each
// .js file's format: it compiles every file as CommonJS first, fails, then
// compiles it as ESM. That startup garbage grows V8's young generation (to
// 16 MiB semi-spaces instead of 8 MiB before idle-memory's first sample), so
// the same build measured ~0.1-0.6 KiB/conn less RSS growth in the
// 'sockwave (other)' row than in the 'sockwave' row (session 6, idle helper).
import fs from 'node:fs';
import path from 'node:path';

/** The nearest package.json's "type" for files in `dir`, or undefined when there is none. */
function packageType(dir) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    if (fs.existsSync(file)) {
      try {
        return JSON.parse(fs.readFileSync(file, 'utf8')).type ?? 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (path.dirname(d) === d) return undefined;
  }
}

/** Prints a warning to stderr unless `dir`'s .js files load as ES modules without guessing. */
export function warnIfFormatGuessed(dir) {
  if (packageType(dir) === 'module') return;
  process.stderr.write(
    `warning: ${dir} has no package.json with "type": "module" above it, so Node guesses the format of every file ` +
      `(compiling each twice at startup) and its row is not comparable with dist/'s, above all in idle-memory. ` +
      `Copy it to a directory that has one, e.g.: mkdir -p /tmp/x && cp -r ${dir} /tmp/x/dist && echo '{"type":"module"}' > /tmp/x/package.json\n`,
  );
}
