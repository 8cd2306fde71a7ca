// Makes the built page self-contained. With `--inlineBundle`, Redoc 3 still loads one thing
// from the internet: the Redocly logo of the "API docs by" attribution in the sidebar
// (https://redocly.com/docs/cli/commands/build-docs: "Only the Redocly logo in the sidebar
// loads from the CDN"). Partners may read the docs offline and CI has no internet, where that
// image request fails with a console error. So the logo URLs in the inlined Redoc bundle are
// replaced with a local wordmark; the attribution and its link to Redocly stay as they are.
import { readFile, writeFile } from 'node:fs/promises';

const cdnLogos = /https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(?:-full)?\.svg/g;

// Base64 keeps the data URI free of the quotes, backticks and `</script` that could end the
// string or the <script> element it is written into.
const wordmark = `<svg xmlns="http://www.w3.org/2000/svg" width="56" height="16" viewBox="0 0 56 16">
<text x="0" y="12.5" fill="#0044d4" font-family="system-ui, sans-serif" font-size="13" font-weight="600">Redocly</text>
</svg>`;
const localLogo = `data:image/svg+xml;base64,${Buffer.from(wordmark).toString('base64')}`;

const htmlPath = process.argv[2];
if (!htmlPath) throw new Error('usage: tsx scripts/localize-logo.ts <built html file>');

const html = await readFile(htmlPath, 'utf8');
const replaced = html.match(cdnLogos)?.length ?? 0;
await writeFile(htmlPath, html.replace(cdnLogos, localLogo));
// Zero is not an error: a newer Redoc may have dropped the remote logo. The browser test
// (test/docs.test.ts) is what fails if the page requests anything off 127.0.0.1.
console.log(`${htmlPath}: replaced ${replaced} remote Redocly logo URL(s) with a local copy`);
