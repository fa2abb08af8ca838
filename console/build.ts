/**
 * Builds the web console: one ES module bundle and one stylesheet, each named by a hash of its content (so they can
 * be cached for good), and the `index.html` that loads them. The assets function fills `index.html`'s
 * `__TW_CONFIG__` placeholder with the deployment's settings (identity provider, client id) when it starts.
 *
 * `npx tsx console/build.ts <outDir>` writes `<outDir>/index.html` and `<outDir>/assets/*`; the CDK app runs it
 * while bundling the assets function, so the console ships inside that function's code.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

/** The placeholder in `index.html` that the assets function replaces with the console's configuration. */
export const CONFIG_PLACEHOLDER = '__TW_CONFIG__';

/** What a build wrote, relative to the output directory. */
export interface ConsoleBuild {
  /** `assets/app.<hash>.js` */
  script: string;
  /** `assets/app.<hash>.css` */
  stylesheet: string;
  /** Every file written, `index.html` included. */
  files: string[];
}

/** The console's `index.html`: no inline script or style (the console's CSP forbids both). */
export function indexHtml(script: string, stylesheet: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="tw-config" content="${CONFIG_PLACEHOLDER}">
<title>Token Warden</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/${stylesheet}">
<script type="module" src="/console/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Token Warden console needs JavaScript.</noscript>
</body>
</html>
`;
}

/** Builds the console into `outDir` (emptied first). */
export async function buildConsole(outDir: string): Promise<ConsoleBuild> {
  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: join(__dirname, 'src', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(out, 'assets'),
    entryNames: '[name].[hash]',
    assetNames: '[name].[hash]',
    legalComments: 'none',
    metafile: true,
    sourcemap: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    tsconfig: join(__dirname, 'tsconfig.json'),
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => `assets/${basename(file)}`);
  const script = outputs.find((f) => f.endsWith('.js'));
  const stylesheet = outputs.find((f) => f.endsWith('.css'));
  if (!script || !stylesheet)
    throw new Error(`console build: expected one .js and one .css, got ${outputs.join(', ')}`);
  writeFileSync(join(out, 'index.html'), indexHtml(script, stylesheet));
  return { script, stylesheet, files: ['index.html', ...outputs] };
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: tsx console/build.ts <outDir>');
    process.exit(2);
  }
  buildConsole(outDir).then(
    (built) => console.log(`console: ${built.files.join(', ')}`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
