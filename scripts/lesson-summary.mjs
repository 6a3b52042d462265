// A lesson's title and one-line summary, read from its first markdown cell: the `# ` heading, and the sentence that
// says what this lesson does ("This lesson …", "Now we build …", "We build …"); else the first sentence.

/** Markdown inline syntax to plain text: links keep their text; emphasis and code marks go. */
export function plainText(markdown) {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|[^\w*])\*(?!\s)(.+?)\*/g, "$1$2")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;

/** Paragraphs as { prose, items }: a paragraph's text lines, and the list items in it (a list may follow "…:"). */
function blocks(markdown) {
  return markdown
    .split(/\n\s*\n/)
    .map((block) => block.split("\n").filter((line) => line.trim() && !/^\s*#/.test(line)))
    .filter((lines) => lines.length)
    .map((lines) => ({
      prose: plainText(lines.filter((l) => !LIST_ITEM.test(l)).join(" ")),
      items: lines.filter((l) => LIST_ITEM.test(l)).map((l) => plainText(l.replace(LIST_ITEM, ""))),
    }));
}

const sentences = (text) => text.split(/(?<=[.!?:])\s+(?=[A-Z])/).map((s) => s.trim()).filter(Boolean);

/** "adds dropout, and says where…;" -> "adds dropout": an item up to its first comma, dash, semicolon or bracket. */
const firstClause = (item) => item.split(/,\s|\s[—–-]\s|;|\s\(/)[0].replace(/[.;:,]+$/, "").trim();

function joinClauses(clauses) {
  if (clauses.length < 2) return clauses.join("");
  const last = clauses[clauses.length - 1];
  return `${clauses.slice(0, -1).join(", ")}, ${/^and\s/.test(last) ? last : `and ${last}`}`;
}

const SAYS_WHAT_THIS_LESSON_DOES = /\b(this (first )?lesson|now we build|we build)\b/i;

/** { title, summary } of a lesson from the markdown of its first markdown cell. */
export function lessonSummary(markdown) {
  const heading = markdown.split("\n").find((line) => /^#\s/.test(line));
  const title = heading ? plainText(heading.replace(/^#+\s*/, "")) : "";
  const paragraphs = blocks(markdown);
  for (const [i, { prose, items }] of paragraphs.entries()) {
    for (const sentence of sentences(prose)) {
      if (!SAYS_WHAT_THIS_LESSON_DOES.test(sentence)) continue;
      if (!sentence.endsWith(":")) return { title, summary: sentence };
      // "This lesson:" and a list: the list's items, each to its first clause, make the sentence.
      const list = items.length ? items : paragraphs[i + 1]?.items ?? [];
      if (sentence.length < 40 && list.length) {
        return { title, summary: `${sentence.slice(0, -1)} ${joinClauses(list.map(firstClause))}.` };
      }
      if (sentence.length >= 40) return { title, summary: `${sentence.slice(0, -1)}.` };
    }
  }
  const first = paragraphs.find((p) => p.prose);
  return { title, summary: first ? sentences(first.prose)[0] : "" };
}
