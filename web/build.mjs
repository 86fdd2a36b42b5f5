// Builds the verifier page's assets into dist/ with esbuild: one minified
// script bundle (our sources plus jsqr from the lock file) and the style
// sheet, and writes dist/manifest.json with the SHA-256 of the sources and
// of each output, which a Go test checks so that a change to the sources
// without a rebuild is caught. Run it through build.sh.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { build } from "esbuild";

const sha256 = (b) => createHash("sha256").update(b).digest("hex");

// The inputs of the build, in byte order of their paths.
const sources = ["build.mjs", "package.json", "package-lock.json", ...readdirSync("src").map((f) => "src/" + f)]
  .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
const listing = sources.map((p) => `${sha256(readFileSync(p))}  ${p}\n`).join("");

// The bundle names the third-party code inside it and its licences (the
// notice esbuild would otherwise drop with the comments).
const pkg = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`));
const notice = ["jsqr", "brotli", "base64-js"].map((n) => `${n} ${pkg(n).version} (${pkg(n).license})`).join(", ");
const banner = `/*! cardd verifier page. Bundled: ${notice}; brotli's decoder is a port of Google's Brotli decoder, Copyright 2013 Google Inc., Apache License 2.0. */`;

mkdirSync("dist", { recursive: true });
const js = await build({
  banner: { js: banner },
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  legalComments: "inline",
  write: false,
  logLevel: "warning",
});
const css = await build({
  entryPoints: ["src/page.css"],
  bundle: true,
  minify: true,
  write: false,
  logLevel: "warning",
});
const out = { "dist/verifier.js": js.outputFiles[0].contents, "dist/verifier.css": css.outputFiles[0].contents };
for (const [name, b] of Object.entries(out)) {
  if (Buffer.from(b).toString("latin1").toLowerCase().includes("</script") || Buffer.from(b).toString("latin1").toLowerCase().includes("</style")) {
    throw new Error(`${name} contains a closing tag and cannot be inlined`);
  }
  writeFileSync(name, b);
}
const manifest = {
  sources_sha256: sha256(listing),
  sources,
  outputs: Object.fromEntries(Object.entries(out).map(([n, b]) => [n, sha256(b)])),
};
writeFileSync("dist/manifest.json", JSON.stringify(manifest, null, 2) + "\n");
console.log(`built ${Object.keys(out).join(", ")} (${js.outputFiles[0].contents.length} bytes of script)`);
