#!/usr/bin/env node
// report_check.js: opens a `vedge bench --out` report.html in headless
// Chromium (Debian's /usr/bin/chromium driven by playwright-core), takes a
// full-page screenshot and one per chart, and prints what rendered as JSON:
// comparison-table rows and, per chart (figure id), its SVG size and the
// number of marks (points, bar segments and those at least 1 px high,
// lines with a non-empty path). The browser test of the report reads it.
//
//   node report_check.js REPORT.html OUTDIR
// Writes OUTDIR/page.png and OUTDIR/<figure id>.png.
// Depends on playwright-core (tests/peers/node_modules) and Chromium.
'use strict';

const fs = require('fs');
const path = require('path');

async function main() {
  const [html, outDir] = process.argv.slice(2);
  if (!html || !outDir) throw new Error('usage: node report_check.js REPORT.html OUTDIR');
  if (!fs.existsSync(html)) throw new Error(`${html}: no such file`);
  const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.VEDGE_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto('file://' + path.resolve(html));
    const info = await page.evaluate(() => {
      const figures = [...document.querySelectorAll('figure')].map((f) => {
        const svg = f.querySelector('svg');
        const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
        return {
          id: f.id,
          width: box.width,
          height: box.height,
          points: f.querySelectorAll('circle.point').length,
          bars: f.querySelectorAll('rect.bar-seg').length,
          bars_drawn: [...f.querySelectorAll('rect.bar-seg')].filter((r) => r.getBBox().height >= 1).length,
          lines: [...f.querySelectorAll('path.series-line')].filter((p) => p.getTotalLength() > 0).length,
        };
      });
      return {
        title: document.title,
        table_rows: document.querySelectorAll('#comparison tbody tr').length,
        table_headers: [...document.querySelectorAll('#comparison thead th')].map((t) => t.textContent),
        figures,
      };
    });
    info.external_requests = requests;
    await page.screenshot({ path: path.join(outDir, 'page.png'), fullPage: true });
    for (const f of info.figures) {
      if (f.id) await page.locator('#' + f.id).screenshot({ path: path.join(outDir, f.id + '.png') });
    }
    console.log(JSON.stringify(info));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`report_check: error: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
