#!/usr/bin/env node
// npm run render [-- --full]: the course as a static site in site/ (git-ignored).
//
// Executes every lesson with test/run_notebooks.py (fast mode; --full: the lecture's settings, about half an hour on
// 2 CPU cores), writes the executed notebooks and one HTML page per lesson (nbconvert) to site/, and an index.html
// that lists the lessons in order with a one-line summary read from each lesson's first markdown cell. When Chromium
// is installed, it then opens the index from file:// and follows its links, checking every page draws its figures.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { findPython } from "./python.mjs";
import { lessonEnv, lessonNames, root } from "./lesson-env.mjs";
import { lessonSummary } from "./lesson-summary.mjs";
import { recallCopy } from "./recall.mjs";
import { chartProblems, chartsInPage, findChromium, htmlProblemsInPage, keepOffline, launchChromium, loadPlaywright } from "./browser.mjs";

const args = process.argv.slice(2);
const full = args.includes("--full");
const unknown = args.filter((a) => a !== "--full");
if (unknown.length) {
  console.error(`usage: npm run render [-- --full]   (unknown: ${unknown.join(" ")})`);
  process.exit(2);
}
const site = join(root, "site");

// What is running now, stopped on Ctrl-C or SIGTERM before this script exits: a child process (the notebook runner,
// which shuts its kernel down on SIGINT, or nbconvert) and the browser of the final check.
const running = { child: undefined, browser: undefined, stopping: false };
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    running.stopping = true;
    console.error(`\nrender: ${signal}, stopping`);
    if (running.child) {
      const exited = new Promise((resolve) => running.child.once("exit", resolve));
      running.child.kill(signal);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    if (running.browser) await running.browser.close().catch(() => {});
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

function run(command, commandArgs, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: "inherit", cwd: root, ...options });
    running.child = child;
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      running.child = undefined;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const cellSource = (cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "");

function indexHtml(lessons) {
  const courseTitle = readFileSync(join(root, "README.md"), "utf8").match(/^#\s+(.+)$/m)?.[1] ?? "The lessons";
  const mode = full ? "at the lecture's full settings" : "in fast mode (every training run 20× shorter than the lecture's)";
  const date = new Date().toISOString().slice(0, 10);
  const items = lessons
    .map(({ name, title, summary }) => `    <li>
      <a class="lesson" href="${escapeHtml(name)}.html">${escapeHtml(title || name)}</a>
      <p class="summary">${escapeHtml(summary)}</p>
      <p class="files"><a href="${escapeHtml(name)}.html">read</a> · <a href="${escapeHtml(name)}.ipynb" download>${escapeHtml(name)}.ipynb</a> · <a href="recall/${escapeHtml(name)}.ipynb" download>recall copy</a> (headings and code only: rebuild the lesson from memory)</p>
    </li>`)
    .join("\n");
  const docs = docsPages().map((d) => `<a href="docs/${escapeHtml(d)}.html">${escapeHtml(d)}</a>`).join(" · ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(courseTitle)}</title>
  <style>
    body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
    h1 { font-size: 1.8rem; margin-bottom: 0.2rem; }
    .about { color: #555; margin-top: 0; }
    ol.lessons { list-style: none; padding-left: 0; }
    ol.lessons li { margin: 1.2rem 0; }
    a.lesson { font-size: 1.15rem; font-weight: 600; }
    .summary { margin: 0.2rem 0; }
    .files { margin: 0; font-size: 0.9rem; color: #555; }
    a { color: #1f5fa8; }
  </style>
</head>
<body>
  <h1>${escapeHtml(courseTitle)}</h1>
  <p class="about">Andrej Karpathy's lecture <em>Let's build GPT: from scratch, in code, spelled out</em>, rebuilt in TypeScript as
  Jupyter notebooks (the tslab kernel). Each lesson below ran ${mode} on ${date}; its page shows the notebook with its
  output, and the .ipynb is the executed notebook, to open in Jupyter.</p>
  <ol class="lessons">
${items}
  </ol>
  <p class="files">In depth: ${docs}.</p>
</body>
</html>
`;
}

/** The pages of docs/, by name. */
const docsPages = () => readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => basename(f, ".md")).sort();

/** docs/*.md as HTML pages in site/docs/ (mistune, nbconvert's own Markdown renderer), links between them kept. */
async function renderDocs(python) {
  mkdirSync(join(site, "docs"), { recursive: true });
  const script = "import sys, mistune, re\n" +
    "for name in sys.argv[1:]:\n" +
    "    body = mistune.html(open(f'docs/{name}.md', encoding='utf-8').read())\n" +
    "    body = re.sub(r'href=\"([\\w-]+)\\.md(#[^\"]*)?\"', lambda m: f'href=\"{m.group(1)}.html{m.group(2) or \"\"}\"', body)\n" +
    "    open(f'site/docs/{name}.html', 'w', encoding='utf-8').write(f'<!DOCTYPE html><meta charset=\"utf-8\"><title>{name}</title><body style=\"font:16px/1.5 system-ui;max-width:46rem;margin:2rem auto\">{body}</body>')\n";
  return run(python, ["-c", script, ...docsPages()]);
}

/** Opens the index from file://, follows every link, and checks each lesson page as the browser test does. */
async function checkInBrowser(lessons) {
  const playwright = await loadPlaywright();
  const chromium = findChromium();
  if (!playwright || !chromium) {
    console.log("render: the site was not checked in a browser (sudo apt install chromium; npm install)");
    return [];
  }
  const problems = [];
  const browser = await launchChromium(playwright, chromium);
  running.browser = browser;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const refused = await keepOffline(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => problems.push(`index.html: JavaScript error: ${error.message}`));
    await page.goto(pathToFileURL(join(site, "index.html")).href, { waitUntil: "load" });
    const listed = await page.$$eval("a.lesson", (links) => links.map((a) => ({ text: a.textContent.trim(), href: a.href })));
    const expected = lessons.map((l) => l.title || l.name);
    if (JSON.stringify(listed.map((l) => l.text)) !== JSON.stringify(expected)) {
      problems.push(`index.html lists ${JSON.stringify(listed.map((l) => l.text))}, expected ${JSON.stringify(expected)}`);
    }
    const hrefs = await page.$$eval("a[href]", (links) => [...new Set(links.map((a) => a.href))]);
    for (const href of hrefs) {
      const path = decodeURIComponent(new URL(href).pathname);
      if (!existsSync(path) || statSync(path).size === 0) problems.push(`index.html links to ${basename(path)}, which is missing or empty`);
    }
    for (const link of listed) {
      const name = basename(decodeURIComponent(new URL(link.href).pathname), ".html");
      // Follow the link from the index, as a reader would.
      await page.goto(pathToFileURL(join(site, "index.html")).href, { waitUntil: "load" });
      await Promise.all([page.waitForNavigation({ waitUntil: "load", timeout: 120_000 }), page.click(`a.lesson[href="${name}.html"]`)]);
      const charts = await page.evaluate(chartsInPage);
      const pageProblems = [...(await page.evaluate(htmlProblemsInPage)), ...chartProblems(charts)];
      if (!charts.length) pageProblems.push("no figure on the page");
      problems.push(...pageProblems.map((p) => `${name}.html: ${p}`));
      if (!pageProblems.length) console.log(`ok   site/${name}.html: ${charts.filter((c) => c.drawn).length} figure(s) drawn`);
    }
    if (refused.length) console.log(`     (pages asked for ${refused.length} URL(s) on the network, refused here: ${refused.slice(0, 3).join(", ")})`);
  } finally {
    await browser.close();
  }
  return problems;
}

async function main() {
  const python = findPython(["nbclient", "nbformat", "nbconvert"]);
  if (!python) {
    console.error(
      "npm run render needs Python with nbclient, nbformat and nbconvert:\n" +
        "  sudo apt install python3-nbclient jupyter-nbconvert     (Debian / Ubuntu)\n" +
        "  pip install nbclient nbconvert                         (elsewhere)",
    );
    return 1;
  }
  const t0 = Date.now();
  const lessons = lessonNames(readdirSync(join(root, "notebooks"))).map((file) => {
    const nb = JSON.parse(readFileSync(join(root, "notebooks", file), "utf8"));
    const intro = nb.cells.find((cell) => cell.cell_type === "markdown");
    return { file, name: basename(file, ".ipynb"), ...lessonSummary(intro ? cellSource(intro) : "") };
  });
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });

  console.log(`render: executing ${lessons.length} lessons ${full ? "at full settings" : "in fast mode"} into site/`);
  const paths = lessons.map((l) => join(root, "notebooks", l.file));
  if ((await run(python, [join(root, "test", "run_notebooks.py"), "--out", site, ...paths], { env: lessonEnv({ fast: !full }) })) !== 0) {
    if (running.stopping) return 130;
    console.error("render: a lesson failed (above); site/ is incomplete and must not be published");
    return 1;
  }
  if ((await run(python, ["-m", "nbconvert", "--to", "html", "--log-level=WARN", "--output-dir", site, ...lessons.map((l) => join(site, l.file))])) !== 0) {
    console.error("render: nbconvert failed");
    return 1;
  }
  mkdirSync(join(site, "recall"), { recursive: true });
  for (const l of lessons) writeFileSync(join(site, "recall", l.file), JSON.stringify(recallCopy(JSON.parse(readFileSync(join(root, "notebooks", l.file), "utf8"))), null, 1) + "\n");
  if ((await renderDocs(python)) !== 0) {
    console.error("render: docs/ could not be rendered");
    return 1;
  }
  writeFileSync(join(site, "index.html"), indexHtml(lessons));
  writeFileSync(join(site, ".nojekyll"), ""); // GitHub Pages: serve the files as they are
  console.log(`render: site/index.html and ${lessons.length} lesson pages written (${((Date.now() - t0) / 1000).toFixed(0)}s)`);

  const problems = await checkInBrowser(lessons);
  if (problems.length) {
    console.error(`render: the site has problems:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    return 1;
  }
  console.log(`render: done (${((Date.now() - t0) / 1000).toFixed(0)}s); open site/index.html`);
  return 0;
}

process.exit(await main());
